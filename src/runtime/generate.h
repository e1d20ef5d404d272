// The generation loop: prefill in chunks, then decode token by token with a sampler, streaming ids.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/language_model.h"
#include "sampling/sampler.h"

namespace cpplm {

struct GenerateOptions {
  int max_tokens = 256;
  SamplingParams sampling;
  std::vector<int32_t> eos_ids;   // generation stops after any of these (the id is reported)
  std::optional<int> max_kv_size;  // rotating cache bound (full-attention layers)
  int kv_bits = 0;                 // K/V cache storage: CacheOptions::kv_bits
  int prefill_chunk = 512;         // prompt tokens per forward call
};

enum class FinishReason { Stop, Length };
const char* finish_reason_name(FinishReason r);  // "stop" | "length"

struct GenerationStats {
  int prompt_tokens = 0;       // tokens actually run through the model (after a reused prefix)
  double prompt_seconds = 0;
  int generated_tokens = 0;
  double generate_seconds = 0;  // from the first sampled token to the last
  size_t peak_rss_bytes = 0;
  double prompt_tps() const { return prompt_seconds > 0 ? prompt_tokens / prompt_seconds : 0; }
  double generation_tps() const { return generate_seconds > 0 ? generated_tokens / generate_seconds : 0; }
};

struct GenerationOutput {
  std::vector<int32_t> tokens;  // generated ids, including a final EOS id when one stopped it
  FinishReason finish = FinishReason::Length;
  GenerationStats stats;
};

// A conversation's state: the tokens its cache holds. A new prompt that extends them reuses
// the cache for the shared prefix (chat turns), otherwise the cache is rebuilt.
struct Session {
  std::unique_ptr<SequenceState> state;
  std::vector<int32_t> tokens;
  void reset() {
    state.reset();
    tokens.clear();
  }
};

// Called with each new token; return false to stop (finish reason "stop"), e.g. on a stop string.
using TokenCallback = std::function<bool(int32_t)>;

GenerationOutput generate(LanguageModel& model, Session& session, std::span<const int32_t> prompt, const GenerateOptions& opts,
                          const TokenCallback& on_token = {});

// Peak resident set size of this process so far, in bytes.
size_t peak_rss_bytes();
// Current resident set size, in bytes.
size_t current_rss_bytes();

}  // namespace cpplm
