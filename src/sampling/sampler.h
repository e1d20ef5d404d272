// Token sampling as a chain of small steps built from the parameters (mlx-lm sample_utils.py order).
//
// Order and semantics (mlx-lm's, chosen because cpplm mirrors mlx-lm; OpenAI's extras first):
//   0. logit_bias added to the raw logits (ids outside the vocabulary ignored), as OpenAI does;
//   1. repetition penalty on the raw logits over the last `repetition_context_size` tokens
//      (logit > 0: divided by the penalty, else multiplied), as mlx-lm / transformers do; it sees
//      prompt and generated tokens alike;
//   1b. OpenAI's presence/frequency penalties: logit[t] -= presence × (count[t] > 0) + frequency ×
//      count[t], counting only tokens the sampler generated (not the prompt), as OpenAI and vLLM do;
//   2. logits -> log-probabilities (log-softmax at temperature 1);
//   3. filters on those log-probabilities, independent of temperature: top-k, then top-p
//      (smallest set whose probability reaches top_p), then min-p (drop tokens whose probability is
//      below min_p × the top probability); each keeps at least one token;
//   4. temperature last: sample from softmax(logprobs / temp); temp == 0 is argmax (greedy).
// transformers applies temperature first, so its top-p/min-p thresholds see the tempered
// distribution; at temp 1 the two agree.
//
// Reported log-probabilities (TokenLogprobs) are the log-softmax of the logits after steps 0–1b and
// before the filters and temperature: the model's distribution with penalties, which is what vLLM
// reports by default. They do not depend on temp, top-k, top-p or min-p.
#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <utility>
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
  // OpenAI's extras, after seed so positional initialisers of the fields above keep their meaning.
  float presence_penalty = 0.0f;                        // over generated tokens only; [-2, 2], 0 = off
  float frequency_penalty = 0.0f;                       // likewise, per occurrence
  std::vector<std::pair<int32_t, float>> logit_bias{};  // (token, bias) added to the raw logits
};

// One sampled token's log-probability and the most likely alternatives (see the header comment for
// the distribution they come from).
struct TokenLogprobs {
  int32_t token = 0;
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top;  // descending log-probability, ties by lower id
};

// Checks ranges; throws Error naming the parameter (e.g. "top_p must be in (0, 1], got -0.5").
void validate(const SamplingParams& p);

// One rewrite of one raw logit, as a device applies the chain's steps 0–1b: a token's edits run in
// the order the host's steps would apply them, so each gives the same float result.
struct LogitEdit {
  enum Kind : int32_t { kAdd = 0, kRepeat = 1, kSubtract = 2 };
  int32_t token = 0;
  int32_t kind = kAdd;
  float value = 0.0f;  // kAdd: the bias; kRepeat: the penalty (s > 0 ? s / v : s * v); kSubtract: the amount
};

// The whole chain for one token, for a device that samples itself: the edits (sorted by token, each
// token's in order), the filters and the temperature. The uniform draw comes from draw_uniform().
struct DeviceChain {
  float temp = 0.0f, top_p = 1.0f, min_p = 0.0f;
  int top_k = 0;
  std::vector<LogitEdit> edits;
};

// One link of the chain: rewrites scores in place; sees each accepted token, `generated` telling a
// sampled token from a prompt token (presence/frequency penalties count only the former).
class SamplerStep {
 public:
  virtual ~SamplerStep() = default;
  virtual void apply(std::span<float> scores) = 0;
  virtual void accept(int32_t /*token*/, bool /*generated*/) {}
  // The logit rewrites apply() would make now (steps before log-softmax only).
  virtual void edits(std::vector<LogitEdit>& /*out*/) const {}
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& p);
  // Picks the next token from raw logits [vocab] (modified in place) and accepts it as generated.
  int32_t sample(std::span<float> logits);
  // The same, also filling `lp` (when not null) with the token's log-probability and the top_n most
  // likely tokens. Costs O(vocab) plus a bounded heap of top_n, never a sort of the vocabulary.
  int32_t sample(std::span<float> logits, TokenLogprobs* lp, int top_n);
  // Feeds prompt tokens (for the repetition penalty's context) without sampling. A device that took
  // the argmax itself (plain_greedy()) also reports its token here: with no steps, nothing counts it.
  void accept(int32_t token);
  // Greedy with nothing that rewrites logits: a device may take the argmax itself, then call accept().
  bool plain_greedy() const { return temp_ == 0.0f && logit_steps_.empty(); }

  // For a device that runs the chain itself (same order and float steps; its log-softmax and sums
  // round differently): the chain as it stands, then per token the uniform in [0, 1) that sample()
  // would draw (temp > 0 only; the same RNG, so a seed gives the same draws on every device), and
  // the token the device picked, accepted as generated.
  DeviceChain device_chain() const;
  double draw_uniform();
  void accept_sampled(int32_t token) { feed(token, /*generated=*/true); }

 private:
  void feed(int32_t token, bool generated);  // every step sees the token

  std::vector<std::unique_ptr<SamplerStep>> logit_steps_;    // before log-softmax
  std::vector<std::unique_ptr<SamplerStep>> logprob_steps_;  // after
  float temp_, top_p_, min_p_;
  int top_k_;
  std::mt19937_64 rng_;
};

// Steps, exposed for unit tests.
std::unique_ptr<SamplerStep> make_repetition_penalty(float penalty, int context_size);
std::unique_ptr<SamplerStep> make_logit_bias(std::vector<std::pair<int32_t, float>> bias);
std::unique_ptr<SamplerStep> make_presence_frequency_penalty(float presence, float frequency);
std::unique_ptr<SamplerStep> make_top_k(int k);
std::unique_ptr<SamplerStep> make_top_p(float p);
std::unique_ptr<SamplerStep> make_min_p(float p);
void log_softmax(std::span<float> x);
float log_sum_exp(std::span<const float> x);
// The top_n (index, value - offset) pairs of x, descending, ties by lower index: a bounded heap.
std::vector<std::pair<int32_t, float>> top_entries(std::span<const float> x, int top_n, float offset = 0.0f);
int32_t argmax(std::span<const float> x);

}  // namespace cpplm
