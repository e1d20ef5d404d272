// GGUF models (llama architecture): settings from metadata, logits against the safetensors checkpoint, greedy
// continuations against llama.cpp's on the same files, and bad files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_file.h"
#include "gguf_test_util.h"
#include "io/config.h"
#include "model/registry.h"

namespace cpplm {
namespace {

using test::bundled_model;
using test::gguf_dir;
using test::q2k_file;
using test::tmp_path;

TEST(GgufModel, SettingsFromMetadataMatchConfigJson) {
  const ModelArgs g = gguf_model_args(GgufFile(q2k_file()));
  ModelArgs h = load_model_args(bundled_model() + "/config.json");
  EXPECT_EQ(g.model_type, "llama");
  EXPECT_EQ(g.hidden_size, h.hidden_size);
  EXPECT_EQ(g.num_hidden_layers, h.num_hidden_layers);
  EXPECT_EQ(g.intermediate_size, h.intermediate_size);
  EXPECT_EQ(g.num_attention_heads, h.num_attention_heads);
  EXPECT_EQ(g.num_key_value_heads, h.num_key_value_heads);
  EXPECT_EQ(g.head_dim, h.head_dim);
  EXPECT_EQ(g.vocab_size, h.vocab_size);
  EXPECT_EQ(g.max_position_embeddings, h.max_position_embeddings);
  EXPECT_FLOAT_EQ(static_cast<float>(g.rms_norm_eps), static_cast<float>(h.rms_norm_eps));
  EXPECT_DOUBLE_EQ(g.rope_theta, h.rope_theta);
  EXPECT_EQ(g.rope_scaling.type, "default");
  EXPECT_EQ(g.tie_word_embeddings, std::optional<bool>(true));
  EXPECT_TRUE(g.rope_traditional);  // Q/K rows in llama.cpp's order
  EXPECT_EQ(g.bos_token_id, std::optional<int>(0));
  EXPECT_EQ(g.eos_token_ids, std::vector<int>{9});
}

TEST(GgufModel, TensorNamesMapBothWays) {
  EXPECT_EQ(gguf_to_hf_name("blk.3.attn_q.weight"), "model.layers.3.self_attn.q_proj.weight");
  EXPECT_EQ(gguf_to_hf_name("blk.12.ffn_norm.weight"), "model.layers.12.post_attention_layernorm.weight");
  EXPECT_EQ(gguf_to_hf_name("token_embd.weight"), "model.embed_tokens.weight");
  EXPECT_EQ(gguf_to_hf_name("output.weight"), "lm_head.weight");
  EXPECT_EQ(gguf_to_hf_name("blk.x.attn_q.weight"), "blk.x.attn_q.weight");
  for (const char* n : {"blk.0.attn_k.weight", "blk.5.ffn_down.weight", "output_norm.weight", "blk.1.attn_output.bias"})
    EXPECT_EQ(hf_to_gguf_name(gguf_to_hf_name(n)), n);
}

// Max |a - b| over max |b|.
double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::fabs(static_cast<double>(a[i]) - b[i]));
    den = std::max(den, std::fabs(static_cast<double>(b[i])));
  }
  return num / den;
}

std::vector<float> all_logits(Model& m, const std::vector<int32_t>& ids) {
  SequenceCache c = m.make_cache();
  SequenceInput in{ids, &c};
  return m.forward(std::span<const SequenceInput>(&in, 1), /*all_logits=*/true);
}

// Prefill logits of a float GGUF (rows permuted as llama.cpp's converter stores them) against the checkpoint.
void check_float_file(GgmlType type, double tol) {
  const std::string path = tmp_path(std::string("model-") + ggml_type_name(type) + ".gguf");
  test::write_float_gguf(q2k_file(), type, path);
  auto g = Model::load(path);
  auto h = Model::load(bundled_model());
  const std::vector<int32_t> ids = {0, 994, 515, 636, 677, 607, 1115, 267, 3875, 607, 515, 856, 524, 788, 267, 922, 267};
  const std::vector<float> a = all_logits(*g, ids), b = all_logits(*h, ids);
  ASSERT_EQ(a.size(), b.size());
  const double rel = max_rel(a, b);
  std::printf("%s GGUF vs safetensors: prefill logits max rel diff %.3g\n", ggml_type_name(type), rel);
  EXPECT_LE(rel, tol);
  // Decode steps go through the cache (permuted K rows stored as they are).
  EXPECT_EQ(test::greedy(*g, {0, 717, 2900, 524, 1052, 572}, 18, 9), test::greedy(*h, {0, 717, 2900, 524, 1052, 572}, 18, 9));
}

TEST(GgufModel, F32FileGivesTheCheckpointsLogits) { check_float_file(GgmlType::F32, 1e-5); }
TEST(GgufModel, BF16FileGivesTheCheckpointsLogits) { check_float_file(GgmlType::BF16, 1e-5); }
TEST(GgufModel, F16FileGivesTheCheckpointsLogits) { check_float_file(GgmlType::F16, 1e-3); }

// Logits after `prompt` and then `cont` fed one token at a time (the greedy loop's steps).
std::vector<float> logits_after(Model& m, const std::vector<int32_t>& prompt, const std::vector<int32_t>& cont) {
  SequenceCache cache = m.make_cache();
  std::vector<int32_t> next = prompt;
  std::vector<float> logits;
  for (size_t i = 0; i <= cont.size(); ++i) {
    SequenceInput in{next, &cache};
    logits = m.forward(std::span<const SequenceInput>(&in, 1), /*all_logits=*/false);
    if (i < cont.size()) next = {cont[i]};
  }
  return logits;
}

// llama.cpp's greedy continuations (reference/llamacpp_reference.json) on every fixture file present; the F16
// and Q8_0 files are remade from the checkpoint (write_float_gguf) when absent.
TEST(GgufModel, GreedyContinuationsMatchLlamaCpp) {
  const auto ref = parse_json_file(std::string(CPPLM_TEST_DATA) + "/gguf/reference/llamacpp_reference.json");
  int files = 0;
  for (const auto& [name, prompts] : ref.items()) {
    std::string path = gguf_dir() + "/" + name;
    if (!std::filesystem::exists(path)) {
      const bool f16 = name == "llama-6m-kjv-fortunes-f16.gguf", q8 = name == "llama-6m-kjv-fortunes-q8_0.gguf";
      if (!f16 && !q8) continue;
      path = tmp_path(name);
      test::write_float_gguf(q2k_file(), f16 ? GgmlType::F16 : GgmlType::Q8_0, path);
    }
    ++files;
    auto m = Model::load(path);
    int match = 0;
    std::string agree;  // per prompt: tokens equal before the first difference
    size_t pi = 0;
    std::string margins;  // where a continuation parts from llama.cpp's: our logits of both tokens
    for (const auto& p : prompts) {
      ++pi;
      const auto want = p.at("llamacpp_greedy_ids").get<std::vector<int32_t>>();
      const auto got = test::greedy(*m, p.at("prompt_ids").get<std::vector<int32_t>>(), 32, 9);
      match += got == want;
      size_t same = 0;
      while (same < got.size() && same < want.size() && got[same] == want[same]) ++same;
      if (same < got.size() && same < want.size()) {  // our margin where the continuations part
        const auto prompt = p.at("prompt_ids").get<std::vector<int32_t>>();
        const std::vector<float> lg = logits_after(*m, prompt, std::vector<int32_t>(want.begin(), want.begin() + same));
        const float ours = lg[got[same]], theirs = lg[want[same]];
        float top = -1e30f;
        for (float v : lg) top = std::max(top, v);
        char line[200];
        std::snprintf(line, sizeof line,
                      "  prompt %zu, token %zu: cpplm %d (%.4f), llama.cpp %d (%.4f here): margin %.4f of top logit %.3f\n", pi,
                      same, got[same], ours, want[same], theirs, ours - theirs, top);
        margins += line;
      }
      agree += ' ';
      agree += std::to_string(same);
      agree += '/';
      agree += std::to_string(want.size());
    }
    std::printf("%s: %d/5 greedy continuations equal llama.cpp's (common prefixes:%s)\n", name.c_str(), match, agree.c_str());
    std::printf("%s", margins.c_str());
    const bool exact =
        name.find("f16") != std::string::npos || name.find("bf16") != std::string::npos || name.find("q8_0") != std::string::npos;
    if (exact) {
      EXPECT_EQ(match, 5) << name;
    }
  }
  EXPECT_GE(files, 2);
}

// The Q8_0 and Q4_0 writers (ggml's quantize_row_q8_0_ref / q4_0_ref) give llama-quantize's tensor bytes (with
// CPPLM_GGUF_DIR), for every tensor but the one it keeps in Q6_K at Q4_0 (the tied token_embd / output matrix).
TEST(GgufModel, Q8_0AndQ4_0WritersReproduceLlamaQuantize) {
  int files = 0;
  for (const auto& [type, name] : {std::pair{GgmlType::Q8_0, "q8_0"}, std::pair{GgmlType::Q4_0, "q4_0"}}) {
    const std::string theirs = gguf_dir() + "/llama-6m-kjv-fortunes-" + name + ".gguf";
    if (!std::filesystem::exists(theirs)) continue;
    ++files;
    const std::string ours = tmp_path(std::string(name) + "-writer.gguf");
    test::write_float_gguf(q2k_file(), type, ours);
    const GgufFile a(ours), b(theirs);
    int checked = 0;
    for (const GgufTensor& t : b.tensors()) {
      if (type == GgmlType::Q4_0 && t.type == GgmlType::Q6_K) continue;
      const GgufTensor* u = nullptr;
      for (const GgufTensor& v : a.tensors())
        if (v.name == t.name) u = &v;
      ASSERT_NE(u, nullptr) << t.name;
      ASSERT_EQ(u->type, t.type) << t.name;
      ASSERT_EQ(u->nbytes, t.nbytes) << t.name;
      EXPECT_EQ(std::memcmp(u->data, t.data, t.nbytes), 0) << name << " " << t.name;
      ++checked;
    }
    EXPECT_GT(checked, 10) << name;
  }
  if (files == 0) GTEST_SKIP() << "no Q8_0 / Q4_0 file of llama-quantize in " << gguf_dir();
}

// Llama 3.1's rope_freqs: each frequency divided by its factor. All factors 2 are linear scaling by 2; all 1
// change nothing.
TEST(GgufModel, RopeFreqsDivideTheFrequencies) {
  const std::string twos = tmp_path("rope2.gguf"), ones = tmp_path("rope1.gguf"), plain = tmp_path("plain.gguf");
  const ModelArgs base = gguf_model_args(GgufFile(q2k_file()));
  test::write_float_gguf(q2k_file(), GgmlType::F32, twos, std::vector<float>(base.head_dim / 2, 2.0f));
  test::write_float_gguf(q2k_file(), GgmlType::F32, ones, std::vector<float>(base.head_dim / 2, 1.0f));
  test::write_float_gguf(q2k_file(), GgmlType::F32, plain);
  const ModelArgs a = gguf_model_args(GgufFile(twos));
  ModelArgs lin = base;
  lin.rope_scaling.type = "linear";
  lin.rope_scaling.factor = 2.0;
  const Rope r(a, twos), l(lin, "linear");
  const int half = base.head_dim / 2, n = 3;
  const int pos[n] = {0, 17, 900};
  std::vector<float> c1(n * half), s1(n * half), c2(n * half), s2(n * half);
  r.tables(pos, n, 901, c1.data(), s1.data());
  l.tables(pos, n, 901, c2.data(), s2.data());
  for (int i = 0; i < n * half; ++i) {
    EXPECT_NEAR(c1[i], c2[i], 1e-5) << i;
    EXPECT_NEAR(s1[i], s2[i], 1e-5) << i;
  }
  auto m1 = Model::load(ones), m0 = Model::load(plain);
  const std::vector<int32_t> ids = {0, 1357, 515, 2653, 686};
  EXPECT_LE(max_rel(all_logits(*m1, ids), all_logits(*m0, ids)), 1e-6);
}

void expect_error(const std::string& path, const std::string& part) {
  try {
    Model::load(path);
    ADD_FAILURE() << "no error for " << path;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(GgufModel, BadFilesGiveClearErrors) {
  const std::vector<uint8_t> good = test::read_bytes(q2k_file());
  const std::string arch = tmp_path("arch.gguf"), missing = tmp_path("missing.gguf"), type = tmp_path("type.gguf");
  // general.architecture = "qwen2" (same length as "llama").
  test::write_bytes(arch,
                    test::patched(good, std::string("\x05\0\0\0\0\0\0\0llama", 13), std::string("\x05\0\0\0\0\0\0\0qwen2", 13)));
  expect_error(arch, "unsupported architecture \"qwen2\"");
  test::write_bytes(missing, test::patched(good, "blk.2.ffn_up.weight", "blk.2.ffn_uq.weight"));
  expect_error(missing, "missing tensor 'blk.2.ffn_up.weight'");
  // blk.0.attn_k.weight: Q2_K (10) → IQ2_XXS (16), whose blocks are smaller (the file stays valid).
  const std::string name = "blk.0.attn_k.weight";
  std::string info = name + std::string("\x02\0\0\0", 4);
  info += std::string("\x00\x01\0\0\0\0\0\0", 8) + std::string("\x80\0\0\0\0\0\0\0", 8);
  test::write_bytes(type, test::patched(good, info + std::string("\x0a\0\0\0", 4), info + std::string("\x10\0\0\0", 4)));
  expect_error(type, "tensor 'blk.0.attn_k.weight': ggml type IQ2_XXS is not supported");
  expect_error(test::tmp_path("absent.gguf"), "absent.gguf");
}

}  // namespace
}  // namespace cpplm
