// The layer plan on the CPU executor: for every fixture, kv_bits and max_kv_size, the caches hold
// what plan_sequence says (dtype, rings, sinks) and roll back as it says (tests/plan_check.h).
#include <gtest/gtest.h>

#include "../plan_check.h"
#include "core/error.h"
#include "model/llama.h"
#include "runtime/cpu_model.h"
#include "test_util.h"

namespace cpplm {
namespace {

class LayerPlanCpu : public ::testing::TestWithParam<std::string> {};

TEST_P(LayerPlanCpu, CachesFollowThePlan) {
  auto m = Model::load(test::fixture_dir(GetParam()));
  const DType dtype = m->model_dtype();
  CpuModel cpu(std::move(m));
  for (int bits : test::kPlanKvBits)
    for (const std::optional<int>& max_kv : test::kPlanMaxKv) {
      SCOPED_TRACE("kv_bits " + std::to_string(bits) + ", max_kv_size " + (max_kv ? std::to_string(*max_kv) : "none"));
      const test::PlanAnswers a = test::plan_answers(cpu, dtype, bits, max_kv);
      EXPECT_EQ(a.error, "");  // the CPU stores every kind
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LayerPlanCpu, ::testing::ValuesIn(test::kPlanFixtures), test::plan_fixture_name);

TEST(LayerPlan, KvStorageTable) {
  // An f16 model keeps f16 K/V by default and with kv_bits 16, on every executor.
  EXPECT_EQ(kv_storage(0, DType::F16), KVType::F16);
  EXPECT_EQ(kv_storage(16, DType::F16), KVType::F16);
  EXPECT_EQ(kv_storage(0, DType::BF16), KVType::BF16);
  EXPECT_EQ(kv_storage(16, DType::F32), KVType::BF16);
  EXPECT_EQ(kv_storage(0, DType::F32), KVType::F32);
  EXPECT_EQ(kv_storage(8, DType::F32), KVType::Q8);
  EXPECT_EQ(kv_storage(32, DType::BF16), KVType::F32);
  EXPECT_THROW(kv_storage(4, DType::F32), Error);
}

TEST(LayerPlan, SlotsAndVisibility) {
  // A ring of 8 keeping 2 sinks: positions 0, 1 stay; the rest cycle through slots 2..7.
  EXPECT_EQ(kv_slot(1, 8, 2), 1);
  EXPECT_EQ(kv_slot(2, 8, 2), 2);
  EXPECT_EQ(kv_slot(8, 8, 2), 2);
  EXPECT_EQ(kv_slot(13, 8, 2), 7);
  EXPECT_EQ(kv_slot(100, 0, 0), 100);
  static_assert(kv_slot(9, 8, 2) == 3, "usable in constant expressions (and CUDA kernels)");
  // Window 6 with 2 sinks seen from position 13: 0, 1 and 8..13.
  for (int j = 0; j <= 14; ++j) EXPECT_EQ(kv_visible(j, 13, 6, 2), j < 2 || (j >= 8 && j <= 13)) << j;
  EXPECT_EQ(kv_window_start(13, 6), 8);
  EXPECT_EQ(kv_sinks_end(8, 2), 2);
  EXPECT_TRUE(kv_retained(1, 14, 8, 2) && kv_retained(8, 14, 8, 2) && !kv_retained(7, 14, 8, 2));
  EXPECT_TRUE(kv_can_trim(8, 3, 8) && !kv_can_trim(9, 3, 8) && kv_can_trim(9, 9, 8) && kv_can_trim(100, 0, 0));
}

}  // namespace
}  // namespace cpplm
