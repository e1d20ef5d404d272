// Sampling steps on hand-made logits, and seeded reproducibility.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "sampling/sampler.h"

namespace cpplm {
namespace {

std::vector<float> logprobs(std::vector<float> v) {
  log_softmax(v);
  return v;
}

TEST(Sampler, TopKKeepsKLargest) {
  std::vector<float> s = {1, 5, 3, 4, 2};
  make_top_k(2)->apply(s);
  EXPECT_EQ(s[1], 5);
  EXPECT_EQ(s[3], 4);
  EXPECT_TRUE(std::isinf(s[0]) && std::isinf(s[2]) && std::isinf(s[4]));
}

TEST(Sampler, TopPKeepsSmallestSetReachingP) {
  // probabilities 0.5, 0.3, 0.15, 0.05
  std::vector<float> s = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  make_top_p(0.75f)->apply(s);
  EXPECT_FALSE(std::isinf(s[0]));
  EXPECT_FALSE(std::isinf(s[1]));
  EXPECT_TRUE(std::isinf(s[2]));
  EXPECT_TRUE(std::isinf(s[3]));
  std::vector<float> t = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  make_top_p(0.81f)->apply(t);
  EXPECT_FALSE(std::isinf(t[2]));
  EXPECT_TRUE(std::isinf(t[3]));
}

TEST(Sampler, MinPDropsBelowFractionOfTop) {
  std::vector<float> s = {std::log(0.6f), std::log(0.25f), std::log(0.1f), std::log(0.05f)};
  make_min_p(0.2f)->apply(s);  // threshold 0.12
  EXPECT_FALSE(std::isinf(s[0]));
  EXPECT_FALSE(std::isinf(s[1]));
  EXPECT_TRUE(std::isinf(s[2]));
  EXPECT_TRUE(std::isinf(s[3]));
}

TEST(Sampler, RepetitionPenaltyScalesSeenTokens) {
  auto step = make_repetition_penalty(2.0f, 2);
  step->accept(0);
  step->accept(1);
  step->accept(2);  // context 2: token 0 falls out
  std::vector<float> s = {4, 4, -4, 4};
  step->apply(s);
  EXPECT_EQ(s[0], 4);
  EXPECT_EQ(s[1], 2);
  EXPECT_EQ(s[2], -8);
  EXPECT_EQ(s[3], 4);
}

TEST(Sampler, TempZeroIsArgmax) {
  SamplingParams p;
  p.temp = 0;
  Sampler s(p);
  std::vector<float> l = {0.1f, 3.0f, 2.9f};
  EXPECT_EQ(s.sample(l), 1);
}

TEST(Sampler, SameSeedSameDrawsDifferentSeedDiffers) {
  auto draws = [](uint64_t seed) {
    SamplingParams p;
    p.temp = 1.0f;
    p.seed = seed;
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) {
      std::vector<float> l = {0, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f};
      out.push_back(s.sample(l));
    }
    return out;
  };
  EXPECT_EQ(draws(1), draws(1));
  EXPECT_NE(draws(1), draws(2));
}

TEST(Sampler, FiltersRestrictTheDraws) {
  SamplingParams p;
  p.temp = 1.0f;
  p.top_k = 2;
  p.seed = 3;
  Sampler s(p);
  for (int i = 0; i < 200; ++i) {
    std::vector<float> l = {1.0f, 0.9f, 0.8f, 0.7f};
    int t = s.sample(l);
    EXPECT_TRUE(t == 0 || t == 1);
  }
}

TEST(Sampler, TemperatureSharpens) {
  // At a low temperature the top token dominates; at temp 1 the draw follows the softmax.
  auto frac_top = [](float temp) {
    SamplingParams p;
    p.temp = temp;
    p.seed = 5;
    Sampler s(p);
    int top = 0;
    for (int i = 0; i < 2000; ++i) {
      std::vector<float> l = {std::log(0.4f), std::log(0.6f)};
      top += s.sample(l) == 1;
    }
    return top / 2000.0;
  };
  EXPECT_NEAR(frac_top(1.0f), 0.6, 0.05);
  EXPECT_GT(frac_top(0.1f), 0.95);
}

TEST(Sampler, RejectsBadParameters) {
  SamplingParams p;
  p.top_p = -0.5f;
  EXPECT_THROW(validate(p), Error);
  p = {};
  p.temp = -1;
  EXPECT_THROW(validate(p), Error);
  p = {};
  p.min_p = 2;
  EXPECT_THROW(validate(p), Error);
  p = {};
  p.repetition_penalty = 0;
  EXPECT_THROW(validate(p), Error);
}

TEST(Sampler, LogSoftmaxNormalizes) {
  auto v = logprobs({1, 2, 3});
  double s = 0;
  for (float x : v) s += std::exp(x);
  EXPECT_NEAR(s, 1.0, 1e-6);
}

}  // namespace
}  // namespace cpplm
