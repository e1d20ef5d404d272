// The layer-plan check shared by the CPU (tests/engine) and CUDA (tests/cuda) suites: for a fixture
// checkpoint, every kv_bits and max_kv_size, an executor's sequences store what plan_sequence says
// and give its rollback answers; the plan's K/V dtype follows the table of docs/ARCHITECTURE.md.
#pragma once
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "model/layer_plan.h"
#include "runtime/language_model.h"

namespace cpplm::test {

// What one executor answered for one (kv_bits, max_kv_size): its K/V dtype name, each layer's
// (max_size, keep), and can_trim_to(t) for t = 0..kPlanTokens after kPlanTokens tokens; or the
// error it threw for options it does not support.
struct PlanAnswers {
  std::string kv_dtype, error;
  std::vector<std::pair<int, int>> rings;
  std::vector<bool> trims;
  bool operator==(const PlanAnswers&) const = default;
};
constexpr int kPlanTokens = 20;
// The hf-reference fixtures the plan runs on, and gtest names for them (dashes are not allowed).
inline const std::vector<std::string> kPlanFixtures = {"llama2-mha-f32",    "llama3-gqa-bf16",  "bias-headdim-f16",
                                                       "rope-linear-f32",   "rope-dynamic-f32", "rope-yarn-f32",
                                                       "rope-longrope-f32", "sharded-gqa-bf16", "mistral-swa-f32"};
inline std::string plan_fixture_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  for (char& ch : n)
    if (ch == '-') ch = '_';
  return n;
}
inline const std::vector<int> kPlanKvBits = {0, 8, 16, 32};
inline const std::vector<std::optional<int>> kPlanMaxKv = {std::nullopt, 6, 12, 64};

// The K/V storage a kv_bits request gets for a model of `dtype` (mlx-lm: the model's dtype; 16 =
// the model's 16-bit type, bf16 for f32 models).
inline KVType expected_kv_type(int kv_bits, DType dtype) {
  if (kv_bits == 8) return KVType::Q8;
  if (kv_bits == 32) return KVType::F32;
  if (dtype == DType::F16) return KVType::F16;
  if (dtype == DType::BF16 || kv_bits == 16) return KVType::BF16;
  return KVType::F32;
}

// Checks the plan itself against the model's layout, then runs `lm` with it.
inline PlanAnswers plan_answers(LanguageModel& lm, DType dtype, int kv_bits, std::optional<int> max_kv) {
  const ModelArgs& a = lm.args();
  const CacheOptions opts{max_kv, kv_bits};
  const SequencePlan plan = plan_sequence(a, dtype, opts);
  EXPECT_EQ(plan.kv_type, expected_kv_type(kv_bits, dtype)) << "kv_bits " << kv_bits;
  for (int i = 0; i < a.num_hidden_layers; ++i) {
    const LayerPlan& l = plan.layers[i];
    const int want = a.is_sliding(i) ? (max_kv ? std::min(*max_kv, *a.sliding_window) : *a.sliding_window) : max_kv.value_or(0);
    EXPECT_EQ(l.max_size, want) << "layer " << i;
    EXPECT_EQ(l.keep, !a.is_sliding(i) && max_kv && *max_kv > 8 ? 4 : 0) << "layer " << i;
  }
  PlanAnswers r;
  std::unique_ptr<SequenceState> s;
  try {
    s = lm.make_sequence(opts);
  } catch (const std::exception& e) {
    r.error = e.what();
    return r;
  }
  EXPECT_EQ(s->plan().kv_type, plan.kv_type);
  std::vector<int32_t> toks(kPlanTokens);
  for (int i = 0; i < kPlanTokens; ++i) toks[i] = (i * 7 + 3) % a.vocab_size;
  SequenceTokens in{toks, s.get()};
  lm.forward({&in, 1}, /*all_logits=*/false);
  r.kv_dtype = s->kv_dtype();
  EXPECT_EQ(r.kv_dtype, kv_type_name(plan.kv_type));
  for (int i = 0; i < a.num_hidden_layers; ++i) {
    const SequenceState::LayerStorage st = s->layer_storage(i);
    EXPECT_EQ(st.type, plan.kv_type) << "layer " << i;
    EXPECT_EQ(st.max_size, plan.layers[i].max_size) << "layer " << i;
    EXPECT_EQ(st.keep, plan.layers[i].keep) << "layer " << i;
    r.rings.emplace_back(st.max_size, st.keep);
  }
  // A ring that wrapped (fewer slots than tokens seen) can no longer roll back.
  bool wrapped = false;
  for (const LayerPlan& l : plan.layers) wrapped |= l.max_size > 0 && l.max_size < kPlanTokens;
  for (int t = 0; t <= kPlanTokens; ++t) {
    r.trims.push_back(s->can_trim_to(t));
    EXPECT_EQ(r.trims.back(), plan.can_trim(kPlanTokens, t)) << "trim to " << t;
    EXPECT_EQ(r.trims.back(), !wrapped || t == kPlanTokens) << "trim to " << t;
  }
  return r;
}

}  // namespace cpplm::test
