// The decode GEMV on rows of published sizes (the model tests' rows are short), against the CPU:
// rows of 257 to 512 16-byte vectors (some leaving a partial last chunk), one-token forward calls
// and graph-replayed decode steps, f32 and bf16 weights, the SwiGLU pair layout and the argmax
// fused into the lm_head GEMV. Skipped with "skipped: no GPU" without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cuda_test_util.h"
#include "model/random_weights.h"
#include "model/registry.h"
#include "runtime/cpu_model.h"
#include "sampling/sampler.h"

namespace cpplm {
namespace {

struct GemvCase {
  const char* name;
  DType dtype;
  int hidden, inter, vocab;
  double tol;
};
void PrintTo(const GemvCase& c, std::ostream* os) { *os << c.name; }
class CudaGemvRows : public ::testing::TestWithParam<GemvCase> {};

std::unique_ptr<Model> wide_model(const GemvCase& c) {
  nlohmann::json cfg = {{"model_type", "llama"},
                        {"hidden_size", c.hidden},
                        {"num_hidden_layers", 2},
                        {"intermediate_size", c.inter},
                        {"num_attention_heads", 4},
                        {"num_key_value_heads", 2},
                        {"head_dim", 64},
                        {"vocab_size", c.vocab},
                        {"rms_norm_eps", 1e-5},
                        {"rope_theta", 10000.0},
                        {"max_position_embeddings", 512},
                        {"tie_word_embeddings", false}};
  ModelArgs args = parse_model_args(cfg, c.name);
  resolve_model_family(args, c.name);
  return Model::from_tensors(args, random_weights(args, c.dtype, 0, 0, 5), c.name);
}

TEST_P(CudaGemvRows, MatchesCpu) {
  SKIP_WITHOUT_GPU();
  const GemvCase& c = GetParam();
  CpuModel cpu(wide_model(c));
  CudaOptions opts;
  auto gpu = make_cuda_model(cpu.model(), opts);
  auto sc = cpu.make_sequence({}), sg = gpu->make_sequence({});
  double worst_fwd = 0;
  for (int i = 0; i < 6; ++i) {  // one token per call: the n == 1 GEMV, static schedule
    const int32_t t = (i * 97 + 3) % c.vocab;
    worst_fwd = std::max(worst_fwd, rel_err(run(*gpu, *sg, std::span<const int32_t>(&t, 1), false),
                                            run(cpu, *sc, std::span<const int32_t>(&t, 1), false)));
  }
  Sampler greedy(SamplingParams{});
  int32_t tok = 11;
  double worst_dec = 0;
  for (int step = 0; step < 10; ++step) {  // graph-replayed decode steps, dynamic schedule
    const std::vector<float> lc = run(cpu, *sc, std::span<const int32_t>(&tok, 1), false);
    const int32_t tg = gpu->decode(*sg, tok, greedy);
    ASSERT_GE(tg, 0);
    ASSERT_LT(tg, c.vocab);
    const auto [lo, hi] = std::minmax_element(lc.begin(), lc.end());
    worst_dec = std::max(worst_dec, static_cast<double>(*hi - lc[tg]) / (*hi - *lo));
    tok = static_cast<int32_t>(hi - lc.begin());
  }
  std::printf("[ %s ] forward logits rel err %.2e; decode token below the CPU's best by %.2e of the range (tolerance %.0e)\n",
              c.name, worst_fwd, worst_dec, c.tol);
  EXPECT_LE(worst_fwd, c.tol);
  EXPECT_LE(worst_dec, c.tol);
}

// Rows of 257 and 275 vectors (f32: 1028 and 1100 inputs) and of 257 / 288 / 512 vectors (bf16).
INSTANTIATE_TEST_SUITE_P(Shapes, CudaGemvRows,
                         ::testing::Values(GemvCase{"f32_1028x1100", DType::F32, 1028, 1100, 1000, 1e-5},
                                           GemvCase{"bf16_2056x2304", DType::BF16, 2056, 2304, 517, 1e-5},
                                           GemvCase{"bf16_4096x2048", DType::BF16, 4096, 2048, 300, 1e-5}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace cpplm
