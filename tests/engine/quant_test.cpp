// mlx affine quantization: the quantizer, quantized model loading, cpplm convert's output
// (reload gives the same logits; the bundled model keeps its quality at 8 and 4 bits).
#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "backends/cpu/ref_kernels.h"
#include "core/error.h"
#include "core/json_file.h"
#include "model/convert.h"
#include "model/llama.h"
#include "model/random_weights.h"
#include "ops/quantize.h"

namespace cpplm {
namespace {

namespace fs = std::filesystem;
const std::string kModel = std::string(CPPLM_MODELS_DIR) + "/llama-6m-kjv-fortunes";

TEST(Quantize, RoundTripWithinHalfAStepAndEdgeExact) {
  std::mt19937 rng(std::random_device{}());
  std::normal_distribution<float> d(0.0f, 0.3f);
  for (int bits : {2, 3, 4, 5, 6, 8})
    for (int group : {32, 64, 128}) {
      const int64_t m = 5, k = 2 * group;
      std::vector<float> w(m * k);
      for (float& x : w) x = d(rng);
      std::vector<uint32_t> codes(m * k * bits / 32);
      std::vector<float> s(m * k / group), b(m * k / group);
      quantize_affine(w.data(), m, k, bits, group, DType::F32, codes.data(), s.data(), b.data());
      cpu::MatRef ref{codes.data(), DType::U32, m, k, bits, group, s.data(), b.data(), DType::F32};
      std::vector<float> deq(k);
      for (int64_t r = 0; r < m; ++r) {
        cpu::dequant_ref(ref, r, 0, k, deq.data());
        for (int64_t g = 0; g < k / group; ++g) {
          const float step = std::fabs(s[r * (k / group) + g]);
          float edge = 0;
          for (int64_t c = g * group; c < (g + 1) * group; ++c) {
            // Half a step, except where mlx's exact-edge scale leaves the opposite extreme
            // outside the grid and the code is clipped to 0 or 2^bits - 1.
            const uint32_t q = cpu::quant_code(ref, r, c);
            const bool clipped = q == 0 || q == (1u << bits) - 1;
            EXPECT_LE(std::fabs(deq[c] - w[r * k + c]), (clipped ? 1.5f : 0.5f) * step * 1.001f + 1e-6f) << bits << " " << group;
            if (std::fabs(w[r * k + c]) > std::fabs(edge)) edge = w[r * k + c];
          }
          // The extreme of larger magnitude is kept (up to f32 rounding of edge/q0·q0).
          bool found = false;
          for (int64_t c = g * group; c < (g + 1) * group; ++c) found |= std::fabs(deq[c] - edge) <= 1e-6f * std::fabs(edge);
          EXPECT_TRUE(found) << "bits " << bits << " group " << group;
        }
      }
    }
}

std::vector<float> logits_of(Model& m, const std::vector<int32_t>& ids) {
  SequenceCache c = m.make_cache();
  SequenceInput in{ids, &c};
  return m.forward({&in, 1}, /*all_logits=*/true);
}

// Mean next-token negative log-likelihood of `ids` (each token predicted from its prefix).
double mean_nll(Model& m, const std::vector<int32_t>& ids) {
  const std::vector<float> lg = logits_of(m, ids);
  const int64_t v = m.args().vocab_size;
  double nll = 0;
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    const float* row = lg.data() + i * v;
    const float mx = *std::max_element(row, row + v);
    double z = 0;
    for (int64_t j = 0; j < v; ++j) z += std::exp(static_cast<double>(row[j]) - mx);
    nll += -(row[ids[i + 1]] - mx - std::log(z));
  }
  return nll / static_cast<double>(ids.size() - 1);
}

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("cpplm_quant_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p.string();
}

TEST(Quantize, ConvertedFolderReloadsWithTheSameLogits) {
  ConvertOptions opts;
  opts.quantize = true;
  opts.bits = 4;
  opts.group_size = 32;
  const std::string out = temp_dir("reload");
  convert_checkpoint(kModel, out, opts);
  // In memory: the same conversion bound directly.
  ModelArgs args = load_model_args(kModel + "/config.json");
  WeightStore ws = WeightStore::open_dir(kModel);
  ModelArgs qargs = args;
  qargs.quantization = QuantSpec{32, 4, "affine"};
  auto mem = Model::from_tensors(qargs, convert_weights(ws, args, opts));
  auto disk = Model::load(out);
  ASSERT_TRUE(disk->args().quantization.has_value());
  EXPECT_EQ(disk->args().quantization->bits, 4);
  EXPECT_TRUE(fs::exists(out + "/tokenizer.json"));
  EXPECT_TRUE(fs::exists(out + "/generation_config.json"));
  const std::vector<int32_t> ids = {0, 1357, 515, 2653, 686, 4022, 515, 611};
  EXPECT_EQ(logits_of(*mem, ids), logits_of(*disk, ids));
  // The tied lm_head reads the quantized embedding table.
  EXPECT_TRUE(disk->tied_embeddings());
  fs::remove_all(out);
}

TEST(Quantize, BundledModelKeepsItsQuality) {
  auto ref = parse_json_file(kModel + "/reference.json");
  auto base = Model::load(kModel);
  // Sequences: each reference prompt + transformers' greedy continuation, and a long greedy
  // continuation of the bf16 model itself (its own text, 384 tokens).
  std::vector<std::vector<int32_t>> seqs;
  for (const auto& g : ref["greedy"]) {
    std::vector<int32_t> s = g["prompt_ids"].get<std::vector<int32_t>>();
    for (int32_t t : g["greedy_ids"].get<std::vector<int32_t>>()) s.push_back(t);
    seqs.push_back(s);
  }
  std::vector<int32_t> own = {0, 1357, 515, 2653, 686};
  {
    SequenceCache c = base->make_cache();
    std::vector<int32_t> step = own;
    for (int i = 0; i < 384; ++i) {
      SequenceInput in{step, &c};
      std::vector<float> lg = base->forward({&in, 1}, false);
      const int32_t t = static_cast<int32_t>(std::max_element(lg.begin(), lg.end()) - lg.begin());
      own.push_back(t);
      step = {t};
    }
  }
  auto nll_of = [&](Model& m, double* ref_nll, double* own_nll) {
    double sum = 0;
    size_t n = 0;
    for (const auto& s : seqs) {
      sum += mean_nll(m, s) * (s.size() - 1);
      n += s.size() - 1;
    }
    *ref_nll = sum / n;
    *own_nll = mean_nll(m, own);
  };
  double base_ref, base_own;
  nll_of(*base, &base_ref, &base_own);
  for (int bits : {8, 4}) {
    ConvertOptions opts;
    opts.quantize = true;
    opts.bits = bits;
    opts.group_size = 64;
    const std::string out = temp_dir("q" + std::to_string(bits));
    convert_checkpoint(kModel, out, opts);
    auto q = Model::load(out);
    // Weights alone (exact mode: f32 activations), then the default int8-activation prefill, whose
    // activation rounding adds its own noise (ppl of this small model moves by ~0.5-1.2 % with it).
    const bool saved_exact = cpu::exact_quant();
    for (bool exact : {true, false}) {
      cpu::set_exact_quant(exact);
      double q_ref, q_own;
      nll_of(*q, &q_ref, &q_own);
      const double ppl_ratio_ref = std::exp(q_ref - base_ref), ppl_ratio_own = std::exp(q_own - base_own);
      std::printf(
          "[ quality  ] %d-bit g64, %s: perplexity ratio vs bf16 %.4f (reference sequences, bf16 ppl %.3f), %.4f (own greedy "
          "text, bf16 ppl %.3f)\n",
          bits, exact ? "f32 activations" : "int8 prefill", ppl_ratio_ref, std::exp(base_ref), ppl_ratio_own, std::exp(base_own));
      const double limit = bits == 8 ? (exact ? 1.01 : 1.025) : 1.10;
      EXPECT_LT(ppl_ratio_ref, limit);
      EXPECT_LT(ppl_ratio_own, limit);
    }
    cpu::set_exact_quant(saved_exact);
    fs::remove_all(out);
  }
}

TEST(Quantize, PerLayerOverridesAndBadInput) {
  // A config-level override keeps one projection in float while the rest is quantized.
  nlohmann::json cfg = parse_json_file(kModel + "/config.json");
  cfg["quantization"] = {{"group_size", 64},
                         {"bits", 8},
                         {"model.layers.0.mlp.down_proj", false},
                         {"model.layers.1.mlp.up_proj", {{"group_size", 32}, {"bits", 4}}}};
  ModelArgs args = parse_model_args(cfg, "config.json");
  ASSERT_EQ(args.quantization_overrides.size(), 2u);
  EXPECT_FALSE(args.quantization_overrides.at("model.layers.0.mlp.down_proj").has_value());
  EXPECT_EQ(args.quantization_overrides.at("model.layers.1.mlp.up_proj")->bits, 4);
  auto w = random_weights(args, DType::BF16, 8, 64, 7);
  // Rewrite the two overridden modules as the override says.
  ModelArgs plain = args;
  plain.quantization.reset();
  auto f = random_weights(plain, DType::BF16, 0, 0, 8);
  for (const char* suffix : {".weight", ".scales", ".biases"}) w.erase(std::string("model.layers.0.mlp.down_proj") + suffix);
  w["model.layers.0.mlp.down_proj.weight"] = std::move(f["model.layers.0.mlp.down_proj.weight"]);
  ModelArgs a4 = plain;
  a4.quantization = QuantSpec{32, 4, "affine"};
  auto w4 = random_weights(a4, DType::BF16, 4, 32, 9);
  for (const char* suffix : {".weight", ".scales", ".biases"})
    w[std::string("model.layers.1.mlp.up_proj") + suffix] = std::move(w4[std::string("model.layers.1.mlp.up_proj") + suffix]);
  auto m = Model::from_tensors(args, std::move(w));
  const std::vector<int32_t> ids = {1, 2, 3};
  EXPECT_EQ(logits_of(*m, ids).size(), 3u * args.vocab_size);

  // Unsupported bits and modes are reported with the field.
  cfg["quantization"] = {{"group_size", 64}, {"bits", 7}};
  EXPECT_THROW(parse_model_args(cfg, "config.json"), Error);
  cfg["quantization"] = {{"group_size", 64}, {"bits", 4}, {"mode", "mxfp4"}};
  EXPECT_THROW(parse_model_args(cfg, "config.json"), Error);
  // Quantized codes without a quantization block: a clear error naming the tensor.
  ModelArgs q8 = plain;
  q8.quantization = QuantSpec{64, 8, "affine"};
  try {
    Model::from_tensors(plain, random_weights(q8, DType::BF16, 8, 64, 1));
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("quantization"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cpplm
