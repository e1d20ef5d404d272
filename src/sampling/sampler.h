// Token sampling as a chain of small steps built from the parameters (mlx-lm sample_utils.py order).
//
// Order and semantics (mlx-lm's, chosen because cpplm mirrors mlx-lm):
//   1. repetition penalty on the raw logits over the last `repetition_context_size` tokens
//      (logit > 0: divided by the penalty, else multiplied), as mlx-lm / transformers do;
//   2. logits -> log-probabilities (log-softmax at temperature 1);
//   3. filters on those log-probabilities, independent of temperature: top-k, then top-p
//      (smallest set whose probability reaches top_p), then min-p (drop tokens whose probability is
//      below min_p × the top probability); each keeps at least one token;
//   4. temperature last: sample from softmax(logprobs / temp); temp == 0 is argmax (greedy).
// transformers applies temperature first, so its top-p/min-p thresholds see the tempered
// distribution; at temp 1 the two agree.
#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace cpplm {

struct SamplingParams {
  float temp = 0.0f;                // 0 = greedy
  float top_p = 1.0f;               // 1 = off
  int top_k = 0;                    // 0 = off
  float min_p = 0.0f;               // 0 = off
  float repetition_penalty = 1.0f;  // 1 = off
  int repetition_context_size = 20;
  uint64_t seed = 0;
};

// Checks ranges; throws Error naming the parameter (e.g. "top_p must be in (0, 1], got -0.5").
void validate(const SamplingParams& p);

// One link of the chain: rewrites scores in place; sees each accepted token.
class SamplerStep {
 public:
  virtual ~SamplerStep() = default;
  virtual void apply(std::span<float> scores) = 0;
  virtual void accept(int32_t /*token*/) {}
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& p);
  // Picks the next token from raw logits [vocab] (modified in place) and accepts it.
  int32_t sample(std::span<float> logits);
  // Feeds prompt tokens (for the repetition penalty's context) without sampling.
  void accept(int32_t token);
  // Greedy with nothing that rewrites logits: a device may take the argmax itself, then call accept().
  bool plain_greedy() const { return temp_ == 0.0f && logit_steps_.empty(); }

 private:
  std::vector<std::unique_ptr<SamplerStep>> logit_steps_;    // before log-softmax
  std::vector<std::unique_ptr<SamplerStep>> logprob_steps_;  // after
  float temp_;
  std::mt19937_64 rng_;
};

// Steps, exposed for unit tests.
std::unique_ptr<SamplerStep> make_repetition_penalty(float penalty, int context_size);
std::unique_ptr<SamplerStep> make_top_k(int k);
std::unique_ptr<SamplerStep> make_top_p(float p);
std::unique_ptr<SamplerStep> make_min_p(float p);
void log_softmax(std::span<float> x);
int32_t argmax(std::span<const float> x);

}  // namespace cpplm
