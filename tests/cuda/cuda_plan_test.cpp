// attention_decode_plan: the decode attention's split count and block size for published shapes on
// a 132-SM card (H100 SXM / H200). Host logic only: runs without a GPU too.
#include <gtest/gtest.h>

#include "backends/cuda/decode_plan.h"

namespace cpplm::cuda {
namespace {

constexpr int kSms = 132;

TEST(CudaDecodePlan, ShortContextTakesEightWarpBlocks) {
  // Llama-3.2-1B (8 kv heads, head_dim 64, bf16 K/V): 8 lanes per key, 128 keys per 8-warp pass.
  DecodePlan p = attention_decode_plan(1024, 64, 32, 8, DType::BF16, kSms);
  EXPECT_EQ(p.warps, 8);
  EXPECT_EQ(p.splits, 8);
  // Llama-3.1-8B (head_dim 128): 64 keys per pass.
  p = attention_decode_plan(640, 128, 32, 8, DType::BF16, kSms);
  EXPECT_EQ(p.warps, 8);
  EXPECT_EQ(p.splits, 10);
}

TEST(CudaDecodePlan, LongContextTakesFourWarpBlocks) {
  // 8 kv heads × 32 splits: more blocks than SMs.
  DecodePlan p = attention_decode_plan(8320, 128, 32, 8, DType::BF16, kSms);
  EXPECT_EQ(p.warps, 4);
  EXPECT_EQ(p.splits, 32);
  // 4 kv heads (TinyLlama) fit one wave, but 8,192 keys need more than one 8-warp pass per split.
  p = attention_decode_plan(8192, 64, 32, 4, DType::BF16, kSms);
  EXPECT_EQ(p.warps, 4);
  EXPECT_EQ(p.splits, 32);
  // ... while 4,096 keys still take one pass per split.
  p = attention_decode_plan(4096, 64, 32, 4, DType::BF16, kSms);
  EXPECT_EQ(p.warps, 8);
  EXPECT_EQ(p.splits, 32);
}

TEST(CudaDecodePlan, EightWarpBlocksOnlyWithinDefaultSharedMemory) {
  // head_dim 256 with 8 query heads per kv head: 8-warp blocks would need 75 KB of shared memory.
  const DecodePlan p = attention_decode_plan(512, 256, 16, 2, DType::BF16, kSms);
  EXPECT_EQ(p.warps, 4);
  EXPECT_EQ(p.splits, 32);
}

TEST(CudaDecodePlan, SmallerCardsAndUngroupedShapes) {
  // A 114-SM card (H100 PCIe) with the 8B's 10 splits × 8 kv heads still fits one wave; 16 kv heads
  // × 10 splits do not.
  EXPECT_EQ(attention_decode_plan(640, 128, 32, 8, DType::BF16, 114).warps, 8);
  EXPECT_EQ(attention_decode_plan(640, 128, 32, 16, DType::BF16, 114).warps, 4);
  // head_dim 80 (bf16 rows of 10 × 16 bytes) runs the general kernel: 128 keys per split.
  const DecodePlan p = attention_decode_plan(1000, 80, 32, 8, DType::BF16, kSms);
  EXPECT_EQ(p.warps, 4);
  EXPECT_EQ(p.splits, 8);
}

}  // namespace
}  // namespace cpplm::cuda
