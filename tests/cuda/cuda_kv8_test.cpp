// 8-bit K/V on the GPU (kv_bits 8: mlx-lm's QuantizedKVCache(bits=8) layout, the CPU's KVType::Q8)
// against the CPU with 8-bit K/V: every hf-reference fixture and the bundled model, unbounded and
// in rings, prefill and graph-replayed decode. The GPU quantizes with the CPU's expressions (same
// codes, scales and biases for the same inputs), and greedy tokens are equal. Skipped with
// "skipped: no GPU" without a GPU.
#include <gtest/gtest.h>

#include <cstdio>

#include "../plan_check.h"
#include "cuda_test_util.h"
#include "model/llama.h"
#include "runtime/cpu_model.h"
#include "sampling/sampler.h"

namespace cpplm {
namespace {

// Prefill in two chunks (the second over cached 8-bit rows), then `steps` greedy decode steps,
// both going on from the CPU's token; ring caches when max_kv is set. The two devices' keys and values
// differ by f32 rounding (summation order) before they are quantized, so a value at a code boundary
// may take the neighbouring code: 5e-4 on the logits (seen up to 1.1e-4), tokens equal.
void expect_same_as_cpu(CpuModel& cpu, LanguageModel& gpu, std::optional<int> max_kv, const std::string& name) {
  const CacheOptions opts{max_kv, 8};
  auto sc = cpu.make_sequence(opts), sg = gpu.make_sequence(opts);
  ASSERT_EQ(sg->kv_dtype(), "q8");
  ASSERT_EQ(sg->bytes_per_position(), sc->bytes_per_position());
  const int V = cpu.args().vocab_size;
  double worst = 0;
  for (const auto& chunk : {prompt_tokens(21, V, 37, 11), prompt_tokens(13, V, 53, 5)}) {
    const double e = rel_err(run(gpu, *sg, chunk, true), run(cpu, *sc, chunk, true));
    worst = std::max(worst, e);
  }
  Sampler s1(SamplingParams{}), s2(SamplingParams{});
  int32_t tc = 3, tg = 3;
  int differ = 0;
  for (int step = 0; step < 24; ++step) {
    tc = cpu.decode(*sc, tc, s1);
    tg = gpu.decode(*sg, tg, s2);
    differ += tc != tg;
    tg = tc;  // both go on from the CPU's token
  }
  std::printf("[ %s max_kv %d ] 8-bit K/V, GPU against CPU: prefill logits rel err %.2e; decode: %d of 24 greedy tokens differ\n",
              name.c_str(), max_kv.value_or(0), worst, differ);
  EXPECT_LE(worst, 5e-4);
  EXPECT_EQ(differ, 0);
  EXPECT_EQ(sc->offset(), sg->offset());
}

class CudaKv8 : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaKv8, SameTokensAsTheCpu) {
  SKIP_WITHOUT_GPU();
  CpuModel cpu(Model::load(data_dir() + "/hf-reference/" + GetParam()));
  auto gpu = make_cuda_model(cpu.model());
  for (const std::optional<int>& max_kv : {std::optional<int>{}, std::optional<int>{12}})
    expect_same_as_cpu(cpu, *gpu, max_kv, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaKv8, ::testing::ValuesIn(test::kPlanFixtures), test::plan_fixture_name);

TEST(CudaKv8Model, BundledModelSameTokensAsTheCpu) {
  SKIP_WITHOUT_GPU();
  CpuModel cpu(Model::load(models_dir() + "/llama-6m-kjv-fortunes"));
  auto gpu = make_cuda_model(cpu.model());
  expect_same_as_cpu(cpu, *gpu, std::nullopt, "llama-6m");
  expect_same_as_cpu(cpu, *gpu, 16, "llama-6m");
}

// An 8-bit row takes its codes and an f32 (scale, bias) pair per group: for head_dim 128 (groups
// of 64), 144 bytes against bf16's 256.
TEST(CudaKv8Model, StoresCodesAndPairs) {
  SKIP_WITHOUT_GPU();
  CpuModel cpu(Model::load(models_dir() + "/llama-6m-kjv-fortunes"));
  auto gpu = make_cuda_model(cpu.model());
  const ModelArgs& a = cpu.args();
  auto s8 = gpu->make_sequence({std::nullopt, 8}), s16 = gpu->make_sequence({std::nullopt, 16});
  const size_t rows = 2 * static_cast<size_t>(a.num_hidden_layers) * a.num_key_value_heads;
  EXPECT_EQ(s8->bytes_per_position(), rows * (a.head_dim + 2 * sizeof(float) * (a.head_dim / 32)));  // head_dim 32: one group
  EXPECT_EQ(s16->bytes_per_position(), rows * a.head_dim * 2);
}

}  // namespace
}  // namespace cpplm
