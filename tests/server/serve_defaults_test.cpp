// `cpplm serve`'s defaults that follow from its other options.
#include <gtest/gtest.h>

#include "api/tools.h"

namespace cpplm {
namespace {

// The GPU's batched decode step runs all its rows every step: as many as --max-concurrent can fill,
// in multiples of 8 (tensor-core tiles), at most 128; none for one sequence (the single-stream step).
TEST(ServeDefaults, DecodeRowsFollowMaxConcurrent) {
  EXPECT_EQ(tools::default_decode_batch_rows(1), 0);
  EXPECT_EQ(tools::default_decode_batch_rows(2), 8);
  EXPECT_EQ(tools::default_decode_batch_rows(8), 8);
  EXPECT_EQ(tools::default_decode_batch_rows(9), 16);
  EXPECT_EQ(tools::default_decode_batch_rows(64), 64);
  EXPECT_EQ(tools::default_decode_batch_rows(128), 128);
  EXPECT_EQ(tools::default_decode_batch_rows(4096), 128);
}

}  // namespace
}  // namespace cpplm
