// Sampling steps on hand-made logits, and seeded reproducibility.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <random>

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
  step->accept(0, /*generated=*/false);
  step->accept(1, /*generated=*/true);
  step->accept(2, /*generated=*/false);  // context 2: token 0 falls out
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

TEST(Sampler, LogitBiasAddsToRawLogitsAndIgnoresOutOfRange) {
  auto step = make_logit_bias({{0, 2.5f}, {2, -100.0f}, {7, 50.0f}, {-1, 50.0f}});
  std::vector<float> s = {1, 1, 1};
  step->apply(s);
  EXPECT_EQ(s[0], 3.5f);
  EXPECT_EQ(s[1], 1.0f);
  EXPECT_EQ(s[2], -99.0f);
}

TEST(Sampler, LogitBiasSteersGreedy) {
  SamplingParams p;
  p.logit_bias = {{0, 10.0f}};
  Sampler s(p);
  EXPECT_FALSE(s.plain_greedy());
  std::vector<float> l = {0.1f, 3.0f, 2.9f};
  EXPECT_EQ(s.sample(l), 0);
}

TEST(Sampler, PresenceFrequencyCountOnlyGeneratedTokens) {
  auto step = make_presence_frequency_penalty(/*presence=*/0.5f, /*frequency=*/0.25f);
  step->accept(0, /*generated=*/false);  // a prompt token: not counted
  step->accept(1, /*generated=*/true);
  step->accept(1, /*generated=*/true);
  step->accept(2, /*generated=*/true);
  step->accept(99, /*generated=*/true);  // outside the logits: ignored at apply
  std::vector<float> s = {4, 4, 4, 4};
  step->apply(s);
  EXPECT_EQ(s[0], 4.0f);
  EXPECT_EQ(s[1], 4.0f - 0.5f - 2 * 0.25f);
  EXPECT_EQ(s[2], 4.0f - 0.5f - 0.25f);
  EXPECT_EQ(s[3], 4.0f);
}

TEST(Sampler, PresencePenaltyThroughTheSamplerSkipsPromptTokens) {
  SamplingParams p;
  p.presence_penalty = 2.0f;
  Sampler s(p);
  EXPECT_FALSE(s.plain_greedy());
  s.accept(1);  // prompt: no penalty on token 1
  std::vector<float> l = {0.0f, 1.0f, 0.5f};
  EXPECT_EQ(s.sample(l), 1);  // generated now: penalised next time
  l = {0.0f, 1.0f, 0.5f};
  EXPECT_EQ(s.sample(l), 2);  // 1 - 2 < 0.5
  EXPECT_EQ(l[1], -1.0f);
}

TEST(Sampler, PlainGreedyOnlyWithoutLogitSteps) {
  EXPECT_TRUE(Sampler(SamplingParams{}).plain_greedy());
  SamplingParams p;
  p.frequency_penalty = -0.5f;
  EXPECT_FALSE(Sampler(p).plain_greedy());
  p = {};
  p.logit_bias = {{3, 0.0f}};
  EXPECT_FALSE(Sampler(p).plain_greedy());
  p = {};
  p.repetition_penalty = 1.1f;
  EXPECT_FALSE(Sampler(p).plain_greedy());
}

TEST(Sampler, RejectsBadOpenAIParameters) {
  SamplingParams p;
  p.presence_penalty = 2.5f;
  EXPECT_THROW(validate(p), Error);
  p = {};
  p.frequency_penalty = -2.01f;
  EXPECT_THROW(validate(p), Error);
  p = {};
  p.frequency_penalty = NAN;
  EXPECT_THROW(validate(p), Error);
  p = {};
  p.logit_bias = {{1, INFINITY}};
  EXPECT_THROW(validate(p), Error);
  p = {};
  p.presence_penalty = -2.0f;
  p.frequency_penalty = 2.0f;
  p.logit_bias = {{1, -100.0f}};
  EXPECT_NO_THROW(validate(p));
}

TEST(Sampler, TopEntriesDescendingTiesByLowerIndex) {
  std::vector<float> x = {1, 3, 2, 3, 0, 2};
  auto top = top_entries(x, 4, /*offset=*/1.0f);
  ASSERT_EQ(top.size(), 4u);
  EXPECT_EQ(top[0], std::make_pair(1, 2.0f));
  EXPECT_EQ(top[1], std::make_pair(3, 2.0f));
  EXPECT_EQ(top[2], std::make_pair(2, 1.0f));
  EXPECT_EQ(top[3], std::make_pair(5, 1.0f));
  EXPECT_EQ(top_entries(x, 0).size(), 0u);
  EXPECT_EQ(top_entries(x, 100).size(), x.size());
}

// The reported distribution: log-softmax after bias and penalties, before filters and temperature.
TEST(Sampler, LogprobsAreThePenalisedDistribution) {
  for (float temp : {0.0f, 0.7f}) {
    SamplingParams p;
    p.temp = temp;
    p.top_k = 2;
    p.seed = 11;
    p.logit_bias = {{4, 1.0f}};
    Sampler s(p);
    std::vector<float> raw = {0.5f, 2.0f, -1.0f, 1.5f, 0.25f, 0.0f};
    for (int step = 0; step < 20; ++step) {
      std::vector<float> l = raw;
      TokenLogprobs lp;
      const int32_t tok = s.sample(l, &lp, static_cast<int>(raw.size()));
      EXPECT_EQ(lp.token, tok);
      std::vector<float> expect = raw;
      expect[4] += 1.0f;
      log_softmax(expect);
      ASSERT_EQ(lp.top.size(), raw.size());
      double sum = 0;
      for (size_t i = 0; i < lp.top.size(); ++i) {
        sum += std::exp(lp.top[i].second);
        EXPECT_NEAR(lp.top[i].second, expect[lp.top[i].first], 1e-6);
        if (i > 0) {
          EXPECT_GE(lp.top[i - 1].second, lp.top[i].second);
        }
      }
      EXPECT_NEAR(sum, 1.0, 1e-5);  // the whole vocabulary, untouched by top-k
      EXPECT_EQ(lp.top[0].first, 1);
      EXPECT_EQ(lp.top[1].first, 3);
      EXPECT_EQ(lp.top[2].first, 4);  // 0.25 + bias 1 > 0.5
      auto it = std::find_if(lp.top.begin(), lp.top.end(), [&](auto& e) { return e.first == tok; });
      ASSERT_NE(it, lp.top.end());
      EXPECT_EQ(lp.logprob, it->second);  // bit-identical to its entry
      EXPECT_TRUE(temp == 0.0f ? tok == 1 : tok == 1 || tok == 3);
    }
  }
}

TEST(Sampler, LogprobsTopNSmallerThanTheDrawnSet) {
  SamplingParams p;
  p.temp = 1.0f;
  p.seed = 2;
  Sampler s(p);
  std::vector<float> l(1000);
  for (size_t i = 0; i < l.size(); ++i) l[i] = static_cast<float>(i % 17) * 0.1f;
  TokenLogprobs lp;
  s.sample(l, &lp, 3);
  ASSERT_EQ(lp.top.size(), 3u);
  EXPECT_EQ(lp.top[0].first, 16);  // ties by lower id
  EXPECT_EQ(lp.top[1].first, 33);
  EXPECT_EQ(lp.top[2].first, 50);
  EXPECT_LT(lp.logprob, 0.0f);
}

// A device applies the chain's edits itself (backends/cuda/sample.cu): sorted by token, each token's in
// the steps' order, they give bit for bit the logits the host's steps give.
TEST(Sampler, DeviceChainEditsReproduceTheLogitSteps) {
  SamplingParams p;
  p.repetition_penalty = 1.3f, p.repetition_context_size = 8;
  p.presence_penalty = 0.4f, p.frequency_penalty = 0.7f;
  p.logit_bias = {{3, 1.5f}, {9, -2.0f}, {3, 0.1f}, {-1, 5.0f}, {500, 5.0f}};
  Sampler host(p), dev(p);
  for (int32_t t : {3, 4, 3, 9, 2, 3}) host.accept(t), dev.accept(t);
  for (int32_t t : {4, 4, 7}) host.accept_sampled(t), dev.accept_sampled(t);
  std::vector<float> logits(12);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = (static_cast<float>(i) - 5.5f) * 0.37f;
  std::vector<float> want = logits, got = logits;
  host.sample(want);  // temp 0: the steps' rewrites, then the argmax
  const DeviceChain c = dev.device_chain();
  EXPECT_EQ(c.temp, 0.0f);
  ASSERT_FALSE(c.edits.empty());
  for (size_t i = 1; i < c.edits.size(); ++i) EXPECT_LE(c.edits[i - 1].token, c.edits[i].token);
  for (const LogitEdit& e : c.edits) {
    if (e.token < 0 || e.token >= static_cast<int32_t>(got.size())) continue;
    float& v = got[e.token];
    v = e.kind == LogitEdit::kAdd      ? v + e.value
        : e.kind == LogitEdit::kRepeat ? (v > 0 ? v / e.value : v * e.value)
                                       : v - e.value;
  }
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], want[i]) << "token " << i;
}

// draw_uniform() gives the draws sample() would make from the same seed, and the filters travel only
// when sampling.
TEST(Sampler, DeviceChainDrawsTheHostsUniforms) {
  SamplingParams p;
  p.temp = 1.0f, p.top_k = 5, p.top_p = 0.9f, p.min_p = 0.1f, p.seed = 77;
  Sampler host(p), dev(p);
  const DeviceChain c = dev.device_chain();
  EXPECT_EQ(c.top_k, 5);
  EXPECT_EQ(c.top_p, 0.9f);
  EXPECT_EQ(c.min_p, 0.1f);
  for (int i = 0; i < 64; ++i) {
    std::vector<float> two = {0.0f, 0.0f};  // equal weights: token 0 exactly when 2u < 1
    const int32_t want = host.sample(two);
    EXPECT_EQ(want, 2.0 * dev.draw_uniform() < 1.0 ? 0 : 1) << "draw " << i;
  }
  p.temp = 0.0f;
  const DeviceChain g = Sampler(p).device_chain();
  EXPECT_EQ(g.top_k, 0);
  EXPECT_EQ(g.top_p, 1.0f);
  EXPECT_EQ(g.min_p, 0.0f);
}

// top-p sorts only a growing prefix of the order: the same tokens as a full stable sort, on peaked
// and flat rows, with ties, and with tokens already removed (-inf) by top-k.
TEST(Sampler, TopPMatchesAFullSort) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t n = 1 + rng() % 5000;
    const float scale = trial % 3 == 0 ? 0.1f : trial % 3 == 1 ? 2.0f : 8.0f;
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> s(n);
    for (float& v : s) v = trial % 2 ? std::round(normal(rng) * 4) / 4 : normal(rng);
    if (trial % 5 == 0)
      for (size_t i = 0; i < n; i += 3) s[i] = -INFINITY;
    if (s[0] == -INFINITY) s[0] = 0.0f;
    log_softmax(s);
    const float p = std::array<float, 4>{0.01f, 0.3f, 0.9f, 0.999f}[trial % 4];
    std::vector<float> want = s, got = s;
    std::vector<int32_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) { return want[a] > want[b]; });
    double cum = 0;
    size_t keep = 0;
    while (keep < n) {
      cum += std::exp(static_cast<double>(want[idx[keep++]]));
      if (cum >= p) break;
    }
    for (size_t i = keep; i < n; ++i) want[idx[i]] = -INFINITY;
    make_top_p(p)->apply(got);
    ASSERT_EQ(got, want) << "trial " << trial << ", " << n << " tokens, p " << p;
  }
}

}  // namespace
}  // namespace cpplm
