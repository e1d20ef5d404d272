// The GPU's attention kernels on the head sizes of published models, against the CPU: random bf16
// models with head_dim 32/64/128 and GQA groups 1/2/3/4/8 (and a sliding window), bf16 K/V on both
// (f16 and 8-bit K/V in some cases).
// The fast configuration throughout: prefill on tensor cores (GEMMs and attention_tc.cu), then
// the graph-replayed decode step with the GQA-grouped split-KV kernel (attention_decode.cu): 8-warp
// blocks at short context, 4-warp blocks with several passes per split over a long one (see
// attention_decode_plan), and again with that kernel's key loop on tensor cores
// (attention_decode_tc.cuh) for bf16 and 8-bit caches of head size 64 and 128. Skipped with
// "skipped: no GPU" without a GPU.
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

struct AttnCase {
  const char* name;
  int heads, kv_heads, head_dim, window, prompt;
  DType dtype = DType::BF16;  // the weights' and so the K/V cache's dtype
  int kv_bits = 0;            // 8: an 8-bit cache on both (the chunk's own keys quantized on the GPU's tensor-core path)
};
void PrintTo(const AttnCase& c, std::ostream* os) { *os << c.name; }
class CudaAttention : public ::testing::TestWithParam<AttnCase> {};

std::unique_ptr<Model> attn_model(const AttnCase& c) {
  return random_attention_model(c.name, c.heads, c.kv_heads, c.head_dim, c.window, c.dtype);
}

void expect_matches_cpu(const AttnCase& c, int tc_min);

TEST_P(CudaAttention, MatchesCpu) {
  SKIP_WITHOUT_GPU();
  const AttnCase& c = GetParam();
  // bf16 and 8-bit caches of head size 64 and 128 decode on the tensor-core loop too (from capacity 0 on).
  const bool tc = (c.dtype == DType::BF16 || c.kv_bits == 8) && (c.head_dim == 64 || c.head_dim == 128);
  for (const int tc_min : tc ? std::vector<int>{-1, 0} : std::vector<int>{-1}) {
    SCOPED_TRACE(tc_min < 0 ? "f32 decode loop" : "tensor-core decode loop");
    expect_matches_cpu(c, tc_min);
  }
}

void expect_matches_cpu(const AttnCase& c, int tc_min) {
  CpuModel cpu(attn_model(c));
  CudaOptions opts;
  opts.gemm_min_rows = 1;
  opts.decode_tensor_cores = tc_min >= 0;
  opts.decode_tc_min_capacity = tc_min;
  auto gpu = make_cuda_model(cpu.model(), opts);
  const CacheOptions cache{std::nullopt, c.kv_bits};
  auto sc = cpu.make_sequence(cache), sg = gpu->make_sequence(cache);
  const int V = cpu.args().vocab_size;
  std::vector<int32_t> toks(c.prompt);
  for (int i = 0; i < c.prompt; ++i) toks[i] = (i * 37 + 11) % V;
  const double e1 = rel_err(run(*gpu, *sg, toks, true), run(cpu, *sc, toks, true));
  std::vector<int32_t> more(37);
  for (int i = 0; i < 37; ++i) more[i] = (i * 53 + 5) % V;
  const double e2 = rel_err(run(*gpu, *sg, more, true), run(cpu, *sc, more, true));
  std::printf("[ %s ] prefill %d tokens: logits rel err %.2e; 37 more after them: %.2e (tolerance 1e-2)\n", c.name, c.prompt, e1,
              e2);
  EXPECT_LE(e1, 1e-2);
  EXPECT_LE(e2, 1e-2);
  // Decode: the GPU's greedy token must be (within bf16 tolerance) the CPU's best; both continue
  // from the CPU's choice.
  Sampler greedy(SamplingParams{});
  int32_t tok = 7;
  double worst = 0;
  for (int step = 0; step < 12; ++step) {
    const std::vector<float> lc = run(cpu, *sc, std::span<const int32_t>(&tok, 1), false);
    const int32_t tg = gpu->decode(*sg, tok, greedy);
    ASSERT_GE(tg, 0);
    ASSERT_LT(tg, V);
    const auto [lo, hi] = std::minmax_element(lc.begin(), lc.end());
    worst = std::max(worst, static_cast<double>(*hi - lc[tg]) / (*hi - *lo));
    tok = static_cast<int32_t>(hi - lc.begin());
  }
  std::printf("[ %s%s ] decode: GPU token's logit below the CPU's best by at most %.2e of the logit range\n", c.name,
              tc_min < 0 ? "" : ", tensor cores", worst);
  EXPECT_LE(worst, 2e-2);
}

INSTANTIATE_TEST_SUITE_P(Heads, CudaAttention,
                         ::testing::Values(AttnCase{"d64_g4", 8, 2, 64, 0, 100}, AttnCase{"d128_g1", 2, 2, 128, 0, 100},
                                           AttnCase{"d32_g8", 8, 1, 32, 0, 75}, AttnCase{"d64_g3", 6, 2, 64, 0, 90},
                                           AttnCase{"d128_g4_window", 4, 1, 128, 40, 130},
                                           AttnCase{"d64_g4_long", 8, 2, 64, 0, 2300},
                                           // 16 kv heads × 32 splits: more blocks than SMs at any block size
                                           AttnCase{"d64_g2_long_wide", 32, 16, 64, 0, 2300},
                                           // f16 K/V: every kernel, the tiled prefill over cached keys too
                                           AttnCase{"d64_g4_f16", 8, 2, 64, 0, 100, DType::F16},
                                           AttnCase{"d128_g4_window_f16", 4, 1, 128, 40, 130, DType::F16},
                                           // 8-bit K/V: tensor-core prefill over dequantized tiles, the grouped decode
                                           AttnCase{"d64_g4_q8", 8, 2, 64, 0, 100, DType::BF16, 8},
                                           AttnCase{"d128_g4_q8", 8, 2, 128, 0, 100, DType::BF16, 8},
                                           AttnCase{"d128_g4_window_q8", 4, 1, 128, 40, 130, DType::BF16, 8},
                                           AttnCase{"d64_g4_long_q8", 8, 2, 64, 0, 2300, DType::BF16, 8},
                                           AttnCase{"d64_g4_f16_q8", 8, 2, 64, 0, 100, DType::F16, 8}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace cpplm
