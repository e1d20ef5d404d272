// Sampler chain steps and the categorical draw.
#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <numeric>

#include "core/error.h"

namespace cpplm {
namespace {

constexpr float kNegInf = -INFINITY;

class RepetitionPenalty : public SamplerStep {
 public:
  RepetitionPenalty(float penalty, int ctx) : penalty_(penalty), ctx_(ctx) {}
  void apply(std::span<float> s) override {
    for (int32_t t : recent_) {
      if (t < 0 || static_cast<size_t>(t) >= s.size()) continue;
      s[t] = s[t] > 0 ? s[t] / penalty_ : s[t] * penalty_;
    }
  }
  void accept(int32_t t) override {
    recent_.push_back(t);
    if (static_cast<int>(recent_.size()) > ctx_) recent_.pop_front();
  }

 private:
  float penalty_;
  int ctx_;
  std::deque<int32_t> recent_;
};

// Indices sorted by score, descending (ties by index, for determinism).
std::vector<int32_t> order(std::span<const float> s) {
  std::vector<int32_t> idx(s.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) { return s[a] > s[b]; });
  return idx;
}

class TopK : public SamplerStep {
 public:
  explicit TopK(int k) : k_(k) {}
  void apply(std::span<float> s) override {
    if (k_ <= 0 || static_cast<size_t>(k_) >= s.size()) return;
    std::vector<float> copy(s.begin(), s.end());
    std::nth_element(copy.begin(), copy.begin() + (k_ - 1), copy.end(), std::greater<float>());
    const float kth = copy[k_ - 1];
    // Keep exactly k: entries above the k-th value, then ties in index order.
    int above = 0;
    for (float v : s) above += v > kth;
    int ties_left = k_ - above;
    for (float& v : s) {
      if (v > kth) continue;
      if (v == kth && ties_left > 0) {
        --ties_left;
        continue;
      }
      v = kNegInf;
    }
  }

 private:
  int k_;
};

class TopP : public SamplerStep {
 public:
  explicit TopP(float p) : p_(p) {}
  void apply(std::span<float> s) override {  // s: log-probabilities
    if (p_ >= 1.0f) return;
    std::vector<int32_t> idx = order(s);
    double cum = 0;
    size_t keep = 0;
    while (keep < idx.size()) {
      cum += std::exp(static_cast<double>(s[idx[keep]]));
      ++keep;
      if (cum >= p_) break;
    }
    for (size_t i = keep; i < idx.size(); ++i) s[idx[i]] = kNegInf;
  }

 private:
  float p_;
};

class MinP : public SamplerStep {
 public:
  explicit MinP(float p) : p_(p) {}
  void apply(std::span<float> s) override {  // s: log-probabilities
    if (p_ <= 0.0f) return;
    const float top = *std::max_element(s.begin(), s.end());
    const float threshold = top + std::log(p_);
    for (float& v : s)
      if (v < threshold) v = kNegInf;
  }

 private:
  float p_;
};

}  // namespace

void validate(const SamplingParams& p) {
  auto bad = [](const std::string& what) { return Error(what); };
  if (!(p.temp >= 0.0f) || !std::isfinite(p.temp)) throw bad("temp must be >= 0, got " + std::to_string(p.temp));
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) throw bad("top_p must be in (0, 1], got " + std::to_string(p.top_p));
  if (p.top_k < 0) throw bad("top_k must be >= 0, got " + std::to_string(p.top_k));
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) throw bad("min_p must be in [0, 1], got " + std::to_string(p.min_p));
  if (!(p.repetition_penalty > 0.0f) || !std::isfinite(p.repetition_penalty))
    throw bad("repetition_penalty must be > 0, got " + std::to_string(p.repetition_penalty));
  if (p.repetition_context_size < 0)
    throw bad("repetition_context_size must be >= 0, got " + std::to_string(p.repetition_context_size));
}

std::unique_ptr<SamplerStep> make_repetition_penalty(float penalty, int ctx) {
  return std::make_unique<RepetitionPenalty>(penalty, ctx);
}
std::unique_ptr<SamplerStep> make_top_k(int k) { return std::make_unique<TopK>(k); }
std::unique_ptr<SamplerStep> make_top_p(float p) { return std::make_unique<TopP>(p); }
std::unique_ptr<SamplerStep> make_min_p(float p) { return std::make_unique<MinP>(p); }

void log_softmax(std::span<float> x) {
  const float m = *std::max_element(x.begin(), x.end());
  double sum = 0;
  for (float v : x) sum += std::exp(static_cast<double>(v - m));
  const float lse = m + static_cast<float>(std::log(sum));
  for (float& v : x) v -= lse;
}

int32_t argmax(std::span<const float> x) { return static_cast<int32_t>(std::max_element(x.begin(), x.end()) - x.begin()); }

Sampler::Sampler(const SamplingParams& p) : temp_(p.temp), rng_(p.seed) {
  validate(p);
  if (p.repetition_penalty != 1.0f && p.repetition_context_size > 0)
    logit_steps_.push_back(make_repetition_penalty(p.repetition_penalty, p.repetition_context_size));
  if (p.temp > 0) {  // filters only matter when sampling
    if (p.top_k > 0) logprob_steps_.push_back(make_top_k(p.top_k));
    if (p.top_p < 1.0f) logprob_steps_.push_back(make_top_p(p.top_p));
    if (p.min_p > 0.0f) logprob_steps_.push_back(make_min_p(p.min_p));
  }
}

void Sampler::accept(int32_t token) {
  for (auto& s : logit_steps_) s->accept(token);
  for (auto& s : logprob_steps_) s->accept(token);
}

int32_t Sampler::sample(std::span<float> logits) {
  for (auto& s : logit_steps_) s->apply(logits);
  int32_t tok;
  if (temp_ == 0.0f) {
    tok = argmax(logits);
  } else {
    log_softmax(logits);
    for (auto& s : logprob_steps_) s->apply(logits);
    const float m = *std::max_element(logits.begin(), logits.end());
    double total = 0;
    std::vector<double> w(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) total += (w[i] = std::exp(static_cast<double>(logits[i] - m) / temp_));
    const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * total;
    double cum = 0;
    tok = argmax(logits);  // fallback against rounding at the top end
    for (size_t i = 0; i < w.size(); ++i) {
      cum += w[i];
      if (u < cum && w[i] > 0) {
        tok = static_cast<int32_t>(i);
        break;
      }
    }
  }
  accept(tok);
  return tok;
}

}  // namespace cpplm
