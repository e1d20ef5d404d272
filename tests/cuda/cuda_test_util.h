// Helpers of the GPU tests: the "skipped: no GPU" guard, the models folder, relative error, one forward call.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include <memory>
#include <nlohmann/json.hpp>

#include "model/random_weights.h"
#include "model/registry.h"
#include "runtime/cuda/cuda_model.h"
#include "runtime/language_model.h"

namespace cpplm {

#define SKIP_WITHOUT_GPU() \
  if (cuda_device_count() == 0) GTEST_SKIP() << "skipped: no GPU"

// The bundled models' folder; CPPLM_MODELS_DIR in the environment overrides the build's (binaries
// built here run on a GPU machine with the checkout elsewhere).
inline std::string models_dir() {
  const char* e = std::getenv("CPPLM_MODELS_DIR");
  return e ? e : CPPLM_MODELS_DIR;
}

// Test data path; CPPLM_TEST_DATA in the environment overrides the build's (as models_dir()).
inline std::string data_dir() {
  const char* e = std::getenv("CPPLM_TEST_DATA");
  return e ? e : CPPLM_TEST_DATA;
}

// ‖a − ref‖₂ / ‖ref‖₂ (infinite when a holds a NaN).
inline double rel_err(const std::vector<float>& a, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i])) return INFINITY;
    num += (double(a[i]) - ref[i]) * (double(a[i]) - ref[i]);
    den += double(ref[i]) * ref[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

// A deterministic stream of test values: the next 64-bit state, and a float in [0, 1) from it.
inline uint64_t next(uint64_t& h) { return h = h * 6364136223846793005ull + 1442695040888963407ull; }
inline float unit(uint64_t& h) { return static_cast<float>(next(h) >> 40) / 16777216.0f; }

// n prompt tokens (i * mul + add) % vocab.
inline std::vector<int32_t> prompt_tokens(int n, int vocab, int mul, int add) {
  std::vector<int32_t> t(n);
  for (int i = 0; i < n; ++i) t[i] = (i * mul + add) % vocab;
  return t;
}

// Logits of one forward call of m over toks on sequence s (every row when all, else the last).
inline std::vector<float> run(LanguageModel& m, SequenceState& s, std::span<const int32_t> toks, bool all) {
  SequenceTokens in{toks, &s};
  return m.forward({&in, 1}, all);
}

// A random 2-layer model of hidden size 192 with these attention heads (a mistral with a sliding
// window when window > 0), weights of `dtype`, for the attention kernels' shapes.
inline std::unique_ptr<Model> random_attention_model(const std::string& name, int heads, int kv_heads, int head_dim, int window,
                                                     DType dtype) {
  nlohmann::json cfg = {{"model_type", window ? "mistral" : "llama"},
                        {"hidden_size", 192},
                        {"num_hidden_layers", 2},
                        {"intermediate_size", 256},
                        {"num_attention_heads", heads},
                        {"num_key_value_heads", kv_heads},
                        {"head_dim", head_dim},
                        {"vocab_size", 300},
                        {"rms_norm_eps", 1e-5},
                        {"rope_theta", 10000.0},
                        {"max_position_embeddings", 4096},
                        {"tie_word_embeddings", false}};
  if (window) cfg["sliding_window"] = window;
  ModelArgs args = parse_model_args(cfg, name);
  resolve_model_family(args, name);
  auto w = random_weights(args, dtype, 0, 0, 11);
  return Model::from_tensors(args, std::move(w), name);
}

}  // namespace cpplm
