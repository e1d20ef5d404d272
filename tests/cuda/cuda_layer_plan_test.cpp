// The layer plan on the CUDA executor: for every fixture, kv_bits and max_kv_size, the device caches
// hold what plan_sequence says and give the CPU executor's answers (dtype, rings, rollback).
#include <gtest/gtest.h>

#include "../plan_check.h"
#include "cuda_test_util.h"
#include "model/llama.h"
#include "runtime/cpu_model.h"

namespace cpplm {
namespace {

class LayerPlanCuda : public ::testing::TestWithParam<std::string> {};

TEST_P(LayerPlanCuda, SameAnswersAsTheCpu) {
  SKIP_WITHOUT_GPU();
  auto m = Model::load(data_dir() + "/hf-reference/" + GetParam());
  const DType dtype = m->model_dtype();
  auto gpu = make_cuda_model(*m);
  CpuModel cpu(std::move(m));
  for (int bits : test::kPlanKvBits)
    for (const std::optional<int>& max_kv : test::kPlanMaxKv) {
      SCOPED_TRACE("kv_bits " + std::to_string(bits) + ", max_kv_size " + (max_kv ? std::to_string(*max_kv) : "none"));
      const test::PlanAnswers c = test::plan_answers(cpu, dtype, bits, max_kv), g = test::plan_answers(*gpu, dtype, bits, max_kv);
      EXPECT_EQ(g.error, "");
      EXPECT_EQ(g.kv_dtype, c.kv_dtype);
      EXPECT_EQ(g.rings, c.rings);
      EXPECT_EQ(g.trims, c.trims);
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LayerPlanCuda, ::testing::ValuesIn(test::kPlanFixtures), test::plan_fixture_name);

}  // namespace
}  // namespace cpplm
