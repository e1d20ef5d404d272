// Sampler chain steps and the categorical draw.
#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <numeric>
#include <queue>
#include <unordered_map>

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
  void edits(std::vector<LogitEdit>& out) const override {
    for (int32_t t : recent_) out.push_back({t, LogitEdit::kRepeat, penalty_});
  }
  void accept(int32_t t, bool /*generated*/) override {
    recent_.push_back(t);
    if (static_cast<int>(recent_.size()) > ctx_) recent_.pop_front();
  }

 private:
  float penalty_;
  int ctx_;
  std::deque<int32_t> recent_;
};

class LogitBias : public SamplerStep {
 public:
  explicit LogitBias(std::vector<std::pair<int32_t, float>> bias) : bias_(std::move(bias)) {}
  void apply(std::span<float> s) override {
    for (auto [t, b] : bias_)
      if (t >= 0 && static_cast<size_t>(t) < s.size()) s[t] += b;
  }
  void edits(std::vector<LogitEdit>& out) const override {
    for (auto [t, b] : bias_) out.push_back({t, LogitEdit::kAdd, b});
  }

 private:
  std::vector<std::pair<int32_t, float>> bias_;
};

// OpenAI's penalties (platform docs "Parameter details"): counts of generated tokens only.
class PresenceFrequencyPenalty : public SamplerStep {
 public:
  PresenceFrequencyPenalty(float presence, float frequency) : presence_(presence), frequency_(frequency) {}
  void apply(std::span<float> s) override {
    for (auto [t, c] : counts_) {
      if (t < 0 || static_cast<size_t>(t) >= s.size()) continue;
      s[t] -= presence_ + frequency_ * static_cast<float>(c);  // c > 0 for every entry
    }
  }
  void edits(std::vector<LogitEdit>& out) const override {
    for (auto [t, c] : counts_) out.push_back({t, LogitEdit::kSubtract, presence_ + frequency_ * static_cast<float>(c)});
  }
  void accept(int32_t t, bool generated) override {
    if (generated) ++counts_[t];
  }

 private:
  float presence_, frequency_;
  std::unordered_map<int32_t, int> counts_;
};

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
  // Tokens in descending order, ties by index, summed until the mass reaches p. Only a prefix of
  // that order is sorted: the first k (selected, then sorted), k growing 8× until it holds the
  // kept set, which gives the full sort's prefix and sums (the order is total) at O(vocab) for
  // the usual peaked distribution.
  void apply(std::span<float> s) override {  // s: log-probabilities
    if (p_ >= 1.0f) return;
    const size_t n = s.size();
    std::vector<int32_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    auto before = [&](int32_t a, int32_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); };
    size_t keep = 0;
    for (size_t k = std::min<size_t>(n, 256);; k = std::min(n, k * 8)) {
      std::nth_element(idx.begin(), idx.begin() + (k - 1), idx.end(), before);
      std::sort(idx.begin(), idx.begin() + k, before);
      double cum = 0;
      keep = 0;
      bool reached = false;
      while (keep < k && !reached) {
        cum += std::exp(static_cast<double>(s[idx[keep]]));
        ++keep;
        reached = cum >= p_;
      }
      if (reached || k == n) break;
    }
    for (size_t i = keep; i < n; ++i) s[idx[i]] = kNegInf;
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
  if (!(p.presence_penalty >= -2.0f && p.presence_penalty <= 2.0f))
    throw bad("presence_penalty must be in [-2, 2], got " + std::to_string(p.presence_penalty));
  if (!(p.frequency_penalty >= -2.0f && p.frequency_penalty <= 2.0f))
    throw bad("frequency_penalty must be in [-2, 2], got " + std::to_string(p.frequency_penalty));
  for (auto [t, b] : p.logit_bias)
    if (!std::isfinite(b)) throw bad("logit_bias for token " + std::to_string(t) + " must be finite");
}

std::unique_ptr<SamplerStep> make_repetition_penalty(float penalty, int ctx) {
  return std::make_unique<RepetitionPenalty>(penalty, ctx);
}
std::unique_ptr<SamplerStep> make_logit_bias(std::vector<std::pair<int32_t, float>> bias) {
  return std::make_unique<LogitBias>(std::move(bias));
}
std::unique_ptr<SamplerStep> make_presence_frequency_penalty(float presence, float frequency) {
  return std::make_unique<PresenceFrequencyPenalty>(presence, frequency);
}
std::unique_ptr<SamplerStep> make_top_k(int k) { return std::make_unique<TopK>(k); }
std::unique_ptr<SamplerStep> make_top_p(float p) { return std::make_unique<TopP>(p); }
std::unique_ptr<SamplerStep> make_min_p(float p) { return std::make_unique<MinP>(p); }

float log_sum_exp(std::span<const float> x) {
  const float m = *std::max_element(x.begin(), x.end());
  double sum = 0;
  for (float v : x) sum += std::exp(static_cast<double>(v - m));
  return m + static_cast<float>(std::log(sum));
}

void log_softmax(std::span<float> x) {
  const float lse = log_sum_exp(x);
  for (float& v : x) v -= lse;
}

std::vector<std::pair<int32_t, float>> top_entries(std::span<const float> x, int top_n, float offset) {
  const size_t n = std::min(static_cast<size_t>(std::max(top_n, 0)), x.size());
  if (n == 0) return {};
  // "a before b": higher value, then lower index. The heap keeps the worst of the n best on top.
  auto before = [&](int32_t a, int32_t b) { return x[a] > x[b] || (x[a] == x[b] && a < b); };
  std::vector<int32_t> heap;
  heap.reserve(n);
  for (int32_t i = 0; static_cast<size_t>(i) < x.size(); ++i) {
    if (heap.size() < n) {
      heap.push_back(i);
      std::push_heap(heap.begin(), heap.end(), before);
    } else if (before(i, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), before);
      heap.back() = i;
      std::push_heap(heap.begin(), heap.end(), before);
    }
  }
  std::sort(heap.begin(), heap.end(), before);
  std::vector<std::pair<int32_t, float>> out;
  out.reserve(n);
  for (int32_t i : heap) out.emplace_back(i, x[i] - offset);
  return out;
}

int32_t argmax(std::span<const float> x) { return static_cast<int32_t>(std::max_element(x.begin(), x.end()) - x.begin()); }

Sampler::Sampler(const SamplingParams& p) : temp_(p.temp), top_p_(p.top_p), min_p_(p.min_p), top_k_(p.top_k), rng_(p.seed) {
  validate(p);
  if (!p.logit_bias.empty()) logit_steps_.push_back(make_logit_bias(p.logit_bias));
  if (p.repetition_penalty != 1.0f && p.repetition_context_size > 0)
    logit_steps_.push_back(make_repetition_penalty(p.repetition_penalty, p.repetition_context_size));
  if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f)
    logit_steps_.push_back(make_presence_frequency_penalty(p.presence_penalty, p.frequency_penalty));
  if (p.temp > 0) {  // filters only matter when sampling
    if (p.top_k > 0) logprob_steps_.push_back(make_top_k(p.top_k));
    if (p.top_p < 1.0f) logprob_steps_.push_back(make_top_p(p.top_p));
    if (p.min_p > 0.0f) logprob_steps_.push_back(make_min_p(p.min_p));
  }
}

void Sampler::accept(int32_t token) { feed(token, /*generated=*/false); }

DeviceChain Sampler::device_chain() const {
  DeviceChain c;
  c.temp = temp_;
  if (temp_ > 0) c.top_k = top_k_, c.top_p = top_p_, c.min_p = min_p_;  // the filters only matter when sampling
  for (const auto& s : logit_steps_) s->edits(c.edits);
  // A token's edits keep the steps' order; tokens outside the vocabulary are the device's to skip.
  std::stable_sort(c.edits.begin(), c.edits.end(), [](const LogitEdit& a, const LogitEdit& b) { return a.token < b.token; });
  return c;
}

double Sampler::draw_uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

void Sampler::feed(int32_t token, bool generated) {
  for (auto& s : logit_steps_) s->accept(token, generated);
  for (auto& s : logprob_steps_) s->accept(token, generated);
}

int32_t Sampler::sample(std::span<float> logits) { return sample(logits, nullptr, 0); }

int32_t Sampler::sample(std::span<float> logits, TokenLogprobs* lp, int top_n) {
  for (auto& s : logit_steps_) s->apply(logits);
  // The reported distribution: log-softmax here, before filters and temperature. log_softmax below
  // subtracts the same lse, so a kept token's value there is bit-identical to its entry in `top`.
  const float lse = lp ? log_sum_exp(logits) : 0.0f;
  if (lp) lp->top = top_entries(logits, top_n, lse);
  int32_t tok;
  if (temp_ == 0.0f) {
    tok = argmax(logits);
    if (lp) lp->logprob = logits[tok] - lse;
  } else {
    log_softmax(logits);
    for (auto& s : logprob_steps_) s->apply(logits);
    const float m = *std::max_element(logits.begin(), logits.end());
    double total = 0;
    std::vector<double> w(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) total += (w[i] = std::exp(static_cast<double>(logits[i] - m) / temp_));
    const double u = draw_uniform() * total;
    double cum = 0;
    tok = argmax(logits);  // fallback against rounding at the top end
    for (size_t i = 0; i < w.size(); ++i) {
      cum += w[i];
      if (u < cum && w[i] > 0) {
        tok = static_cast<int32_t>(i);
        break;
      }
    }
    if (lp) lp->logprob = logits[tok];
  }
  if (lp) lp->token = tok;
  feed(tok, /*generated=*/true);
  return tok;
}

}  // namespace cpplm
