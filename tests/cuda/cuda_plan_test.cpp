// attention_decode_plan: the decode attention's split count, block size, head groups and where the
// splits are merged, for published shapes on a 132-SM card (H100 SXM / H200) and a 114-SM one
// (H100 PCIe). Host logic only: runs without a GPU.
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "backends/cuda/decode_plan.h"

namespace cpplm::cuda {
namespace {

struct PlanCase {
  const char* name;
  int capacity, head_dim, heads, kv_heads, sms;
  int splits, warps;  // expected
  int head_groups = 1;
  bool merge_later = false;
  bool o_proj_merges = true;  // given
};
void PrintTo(const PlanCase& c, std::ostream* os) { *os << c.name; }
class CudaDecodePlan : public ::testing::TestWithParam<PlanCase> {};

TEST_P(CudaDecodePlan, PicksSplitsAndWarps) {
  const PlanCase& c = GetParam();
  const DecodePlan p = attention_decode_plan(c.capacity, c.head_dim, c.heads, c.kv_heads, DType::BF16, c.sms, c.o_proj_merges);
  EXPECT_EQ(p.splits, c.splits);
  EXPECT_EQ(p.warps, c.warps);
  EXPECT_EQ(p.head_groups, c.head_groups);
  EXPECT_EQ(p.merge_later, c.merge_later);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CudaDecodePlan,
    ::testing::Values(
        // Llama-3.2-1B (8 kv heads, head_dim 64: 128 keys per 8-warp pass), short context: splits of
        // up to two passes, merged by o_proj (35 KB of partials at 1,024 positions), each kv head's
        // 4 query heads in 4 blocks (8 × 4 × 4 blocks fit 132 SMs; on 114 SMs 8 × 2 × 4 do).
        PlanCase{"llama1b_1k", 1024, 64, 32, 8, 132, 4, 8, 4, true}, PlanCase{"llama1b_640", 640, 64, 32, 8, 132, 3, 8, 4, true},
        PlanCase{"llama1b_1k_114sm", 1024, 64, 32, 8, 114, 4, 8, 2, true},
        // Quantized o_proj (no merging GEMV): one-pass splits merged in the attention kernel.
        PlanCase{"llama1b_1k_q4", 1024, 64, 32, 8, 132, 8, 8, 1, false, false},
        // TinyLlama's 8 query heads per kv head in 8 blocks.
        PlanCase{"tinyllama_1k", 1024, 64, 32, 4, 132, 4, 8, 8, true},
        // 64 heads of 128 (Llama-70B) at 1,024: 8 two-pass splits' partials would be 270 KB, too many
        // for every SM to read; one pass per split, merged in the attention kernel.
        PlanCase{"llama70b_1k", 1024, 128, 64, 8, 132, 16, 8},
        // The 8B (64 keys per pass) at 256 positions: 2 splits, 34 KB of partials; at 640, 5 two-pass
        // splits would be 84 KB.
        PlanCase{"llama8b_256", 256, 128, 32, 8, 132, 2, 8, 4, true}, PlanCase{"llama8b_640", 640, 128, 32, 8, 132, 10, 8},
        PlanCase{"llama8b_8k", 8320, 128, 32, 8, 132, 32, 4},
        // 4 kv heads (TinyLlama) fit one wave, but 8,192 keys need more than one 8-warp pass per
        // split; 4,096 still take one.
        PlanCase{"tinyllama_8k", 8192, 64, 32, 4, 132, 32, 4}, PlanCase{"tinyllama_4k", 4096, 64, 32, 4, 132, 32, 8},
        // head_dim 256 with 8 query heads per kv head: 8-warp blocks would need 75 KB of shared memory.
        PlanCase{"d256_g8", 512, 256, 16, 2, 132, 32, 4},
        // A 114-SM card: 8 kv heads × 10 splits fit one wave, 16 × 10 do not.
        PlanCase{"llama8b_114sm", 640, 128, 32, 8, 114, 10, 8}, PlanCase{"kv16_114sm", 640, 128, 32, 16, 114, 20, 4},
        // head_dim 80 (bf16 rows of 10 × 16 bytes) runs the general kernel: 128 keys per split.
        PlanCase{"d80_ungrouped", 1000, 80, 32, 8, 132, 8, 4}),
    [](const auto& info) { return std::string(info.param.name); });

// The tensor-core key loop (attention_decode_tc.cuh) from a capacity on: bf16 and 8-bit caches of head
// size 64 or 128 only, 4 warps, splits of at least 256 keys (at most kMaxAttnSplits), merged in the kernel.
TEST(CudaDecodePlanTc, FromTheCapacityOnForItsCaches) {
  auto plan = [](int capacity, int head_dim, DType kv, int tc_min) {
    return attention_decode_plan(capacity, head_dim, 32, 8, kv, 132, true, tc_min);
  };
  const DecodePlan at64k = plan(65536, 128, DType::BF16, 4096);
  EXPECT_TRUE(at64k.mma);
  EXPECT_EQ(at64k.splits, 32);
  EXPECT_EQ(at64k.warps, 4);
  EXPECT_FALSE(at64k.merge_later);
  EXPECT_EQ(at64k.head_groups, 1);
  EXPECT_TRUE(plan(4096, 64, DType::U8, 4096).mma);
  EXPECT_EQ(plan(4096, 64, DType::U8, 4096).splits, 16);
  EXPECT_EQ(plan(600, 128, DType::BF16, 0).splits, 3);
  EXPECT_FALSE(plan(4095, 128, DType::BF16, 4096).mma);  // below the capacity: the f32 loop's plan
  EXPECT_FALSE(plan(65536, 128, DType::BF16, -1).mma);   // off
  EXPECT_FALSE(plan(65536, 128, DType::F16, 0).mma);     // f16 caches keep the f32 loop
  EXPECT_FALSE(plan(65536, 32, DType::BF16, 0).mma);     // as do other head sizes
}

}  // namespace
}  // namespace cpplm::cuda
