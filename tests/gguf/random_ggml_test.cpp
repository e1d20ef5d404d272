// Random weights in llama.cpp's block formats (cpplm bench --dtype q4_k_m ...): every type the CPU reads binds
// and runs, with finite logits; the _M mixes put Q6_K where llama-quantize does; unknown names are errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/dtype.h"
#include "core/error.h"
#include "core/ggml_types.h"
#include "io/config.h"
#include "model/llama.h"
#include "model/random_weights.h"
#include "ops/linear.h"

namespace cpplm {
namespace {

ModelArgs small_args(int layers) {
  nlohmann::json cfg = {{"model_type", "llama"},       {"hidden_size", 256},       {"intermediate_size", 512},
                        {"num_hidden_layers", layers}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                        {"vocab_size", 512},           {"rms_norm_eps", 1e-5},     {"tie_word_embeddings", true}};
  return parse_model_args(cfg, "config.json");
}

TEST(RandomGgml, EveryTypeBindsAndGivesFiniteLogits) {
  const ModelArgs args = small_args(2);
  for (const std::string& type : random_ggml_types()) {
    RandomGgml w = random_ggml_weights(args, type, 3);
    auto m = Model::from_tensors(args, std::move(w.tensors), std::move(w.ggml), "random " + type);
    SequenceCache cache = m->make_cache();
    const std::vector<int32_t> ids = {1, 17, 300, 5, 511};
    SequenceInput in{ids, &cache};
    const std::vector<float> logits = m->forward(std::span<const SequenceInput>(&in, 1), /*all_logits=*/true);
    ASSERT_EQ(logits.size(), ids.size() * 512) << type;
    EXPECT_TRUE(std::all_of(logits.begin(), logits.end(), [](float v) { return std::isfinite(v); })) << type;
    EXPECT_GT(*std::max_element(logits.begin(), logits.end()), *std::min_element(logits.begin(), logits.end())) << type;
  }
}

TEST(RandomGgml, MixesFollowLlamaQuantize) {
  const ModelArgs args = small_args(16);
  const RandomGgml w = random_ggml_weights(args, "q4_k_m", 1);
  auto type_of = [&](const std::string& n) { return static_cast<GgmlType>(w.ggml.at(n).type); };
  EXPECT_EQ(type_of("model.embed_tokens.weight"), GgmlType::Q6_K);
  // use_more_bits(i, 16): layers 0, 1, 14, 15 and i with (i - 2) % 3 == 2.
  for (int i = 0; i < 16; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const bool more = i < 2 || i >= 14 || (i - 2) % 3 == 2;
    EXPECT_EQ(type_of(p + "mlp.down_proj.weight"), more ? GgmlType::Q6_K : GgmlType::Q4_K) << i;
    EXPECT_EQ(type_of(p + "self_attn.v_proj.weight"), more ? GgmlType::Q6_K : GgmlType::Q4_K) << i;
    EXPECT_EQ(type_of(p + "self_attn.q_proj.weight"), GgmlType::Q4_K) << i;
  }
  EXPECT_EQ(static_cast<GgmlType>(random_ggml_weights(args, "q5_k_m", 1).ggml.at("model.layers.3.mlp.up_proj.weight").type),
            GgmlType::Q5_K);
  EXPECT_EQ(static_cast<GgmlType>(random_ggml_weights(args, "Q8_0", 1).ggml.at("model.embed_tokens.weight").type),
            GgmlType::Q8_0);
}

// The GPU runs GGUF types that are affine per group as mlx-format codes with f32 scales and biases
// (ops/linear.h ggml_affine): fma(scale, code, bias) must give the file's dequantized values exactly (as
// values: a zero of Q6_K's negative scales is -0 there and +0 here).
TEST(RandomGgml, AffineRepackGivesTheDequantizedValues) {
  const ModelArgs args = small_args(1);
  int affine_types = 0, kquants = 0;
  for (const std::string& type : random_ggml_types()) {
    RandomGgml w = random_ggml_weights(args, type, 5);
    auto m = Model::from_tensors(args, std::move(w.tensors), std::move(w.ggml), "random " + type);
    std::vector<const Linear*> ls = {&m->llama().embed_tokens};
    for (const NamedLinear& nl : m->llama().layers[0].linears()) ls.push_back(nl.linear);
    bool any = false;
    for (const Linear* l : ls) {
      AffineWeight a;
      if (!ggml_affine(*l, a)) {
        EXPECT_TRUE(type == "q2_k" || type == "q3_k" || type == "iq4_nl" || type == "iq4_xs" || type == "q3_k_m") << type;
        continue;
      }
      any = true;
      const int64_t out = l->out_features(), in = l->in_features();
      std::vector<float> ref(out * in);
      dequantize(*l, ref.data());
      int64_t bad = 0;
      for (int64_t r = 0; r < out; ++r)
        for (int64_t c = 0; c < in; ++c) {
          const int64_t bit = (r * in + c) * a.bits;
          const uint32_t q = (a.codes[bit / 32] >> (bit % 32)) & ((1u << a.bits) - 1);
          const int64_t g = r * (in / a.group) + c / a.group;
          const float v = std::fma(a.scales[g], static_cast<float>(q), a.biases[g]);
          if (!(v == ref[r * in + c]) && bad++ < 3)  // equal values (Q6_K's zeros may differ in sign only)
            ADD_FAILURE() << type << " row " << r << " col " << c << ": " << v << " vs " << ref[r * in + c];
        }
      EXPECT_EQ(bad, 0) << type;
      // Q4_K / Q5_K also carry their scale records (the GPU's compact layout): d·sc and -(dmin·m) in f32 are
      // the scales and biases above, bit for bit.
      if (!a.kscales.empty()) {
        ASSERT_EQ(a.kscales.size(), static_cast<size_t>(out * in / 256 * 20)) << type;
        for (size_t g = 0; g < a.scales.size(); ++g) {
          const uint8_t* rec = a.kscales.data() + g / 8 * 20;
          uint16_t d, dmin;
          std::memcpy(&d, rec, 2), std::memcpy(&dmin, rec + 2, 2);
          const float s = f16_to_f32(d) * static_cast<float>(rec[4 + 2 * (g % 8)]),
                      b = -(f16_to_f32(dmin) * static_cast<float>(rec[5 + 2 * (g % 8)]));
          ASSERT_EQ(s, a.scales[g]) << type << " group " << g;
          ASSERT_EQ(b, a.biases[g]) << type << " group " << g;
        }
        ++kquants;
      }
    }
    affine_types += any;
  }
  EXPECT_GE(affine_types, 8);  // q8_0, q4_0, q4_1, q5_0, q5_1, q4_k(_m), q5_k(_m), q6_k
  EXPECT_GT(kquants, 0);
}

// Model::block_formats (the GPU computes such models in f16): true with block-format weights, false without.
TEST(RandomGgml, ModelSaysWhetherItHoldsBlockFormats) {
  const ModelArgs args = small_args(1);
  RandomGgml w = random_ggml_weights(args, "q4_k_m", 3);
  EXPECT_TRUE(Model::from_tensors(args, std::move(w.tensors), std::move(w.ggml), "random q4_k_m")->block_formats());
  EXPECT_FALSE(Model::from_tensors(args, random_weights(args, DType::F16, 0, 0, 3), "random f16")->block_formats());
}

TEST(RandomGgml, UnknownTypeIsAnErrorListingTheNames) {
  try {
    random_ggml_weights(small_args(1), "q7_k", 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q7_k"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("q4_k_m"), std::string::npos);
  }
}

}  // namespace
}  // namespace cpplm
