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
  std::vector<int32_t> eos_ids;    // generation stops after any of these (the id is reported)
  std::optional<int> max_kv_size;  // rotating cache bound (full-attention layers)
  int kv_bits = 0;                 // K/V cache storage: CacheOptions::kv_bits
  int prefill_chunk = 512;         // prompt tokens per forward call
  // Called after each prefill chunk of a prompt longer than one chunk: (tokens done, total).
  std::function<void(int done, int total)> prefill_progress;
};

enum class FinishReason { Stop, Length };
const char* finish_reason_name(FinishReason r);  // "stop" | "length"

struct GenerationStats {
  int prompt_tokens = 0;  // tokens actually run through the model (after a reused prefix)
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

// A conversation's K/V cache and the tokens it holds (mlx-lm's prompt cache). A new prompt that extends them reuses
// the cache for the shared prefix (chat turns), otherwise the cache is rebuilt.
struct PromptCache {
  std::unique_ptr<SequenceState> state;
  std::vector<int32_t> tokens;
  void reset() {
    state.reset();
    tokens.clear();
  }
};

// Called with each new token; return false to stop (finish reason "stop"), e.g. on a stop string.
// generate() throws Error naming the step when the model's logits hold a NaN or an infinity (on a
// device executor only the first step's are seen: see generate.cpp).
using TokenCallback = std::function<bool(int32_t)>;

GenerationOutput generate(LanguageModel& model, PromptCache& prompt_cache, std::span<const int32_t> prompt,
                          const GenerateOptions& opts, const TokenCallback& on_token = {});

// The positions config.json sets the model up for: max_position_embeddings, stretched by a linear
// or YaRN rope_scaling factor; 0 = no known limit (max_position_embeddings not given, or dynamic
// NTK RoPE, which stretches itself as a sequence grows).
int context_length(const ModelArgs& args);
// "" when `positions` fit context_length(args); else one line saying that `what` ("prompt (5613
// tokens) + max tokens (256)") exceed it, and what would extend it.
std::string context_warning(const ModelArgs& args, const std::string& what, int64_t positions);

// Peak resident set size of this process so far, in bytes.
size_t peak_rss_bytes();
// Current resident set size, in bytes.
size_t current_rss_bytes();

}  // namespace cpplm
