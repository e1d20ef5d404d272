// Generation loop with prefix reuse, chunked prefill, sampling and stop conditions.
#include "runtime/generate.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/error.h"

namespace cpplm {
namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

const char* finish_reason_name(FinishReason r) { return r == FinishReason::Stop ? "stop" : "length"; }

size_t peak_rss_bytes() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<size_t>(ru.ru_maxrss) * 1024;
}

size_t current_rss_bytes() {
  std::ifstream f("/proc/self/statm");
  size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

int context_length(const ModelArgs& a) {
  const RopeScaling& s = a.rope_scaling;
  if (a.max_position_embeddings <= 0 || s.type == "dynamic") return 0;
  double n = a.max_position_embeddings;
  // linear: positions are divided by the factor. YaRN: the factor stretches the original
  // context (transformers takes max_position_embeddings as the original when none is given).
  // llama3 and longrope configs state the stretched length as max_position_embeddings.
  if (s.type == "linear") n *= s.factor;
  if (s.type == "yarn") n = std::max(n, s.factor * s.original_max_position_embeddings.value_or(n));
  return static_cast<int>(std::min(n, static_cast<double>(INT32_MAX)));
}

std::string context_warning(const ModelArgs& a, const std::string& what, int64_t positions) {
  const int limit = context_length(a);
  if (limit <= 0 || positions <= limit) return "";
  const std::string& type = a.rope_scaling.type;
  const std::string n = std::to_string(limit);
  if (type == "default")
    return what + " exceed the model's max_position_embeddings (" + n +
           "); quality degrades past it (a rope_scaling such as \"dynamic\" or \"yarn\" in config.json would extend it)";
  if (limit == a.max_position_embeddings)
    return what + " exceed the model's max_position_embeddings (" + n + "), the length its \"" + type +
           "\" rope_scaling is set up for; quality degrades past it";
  char factor[32];
  std::snprintf(factor, sizeof factor, "%g", a.rope_scaling.factor);
  return what + " exceed the model's context of " + n + " positions (max_position_embeddings " +
         std::to_string(a.max_position_embeddings) + " stretched by its \"" + type + "\" rope_scaling, factor " + factor +
         "); quality degrades past it";
}

GenerationOutput generate(LanguageModel& model, PromptCache& prompt_cache, std::span<const int32_t> prompt,
                          const GenerateOptions& opts, const TokenCallback& on_token) {
  if (prompt.empty()) throw Error("generate: the prompt has no tokens");
  if (opts.max_tokens < 0) throw Error("generate: max_tokens must be >= 0");
  Sampler sampler(opts.sampling);
  GenerationOutput out;

  // Reuse the cached prefix when the state can be rolled back to it.
  size_t common = 0;
  if (prompt_cache.state) {
    while (common < prompt_cache.tokens.size() && common < prompt.size() && prompt_cache.tokens[common] == prompt[common])
      ++common;
    if (common == prompt.size()) --common;  // at least one token must run to produce logits
    if (!prompt_cache.state->can_trim_to(static_cast<int>(common))) common = 0;
  }
  if (!prompt_cache.state || common == 0) {
    prompt_cache.state = model.make_sequence({opts.max_kv_size, opts.kv_bits});
    prompt_cache.tokens.clear();
  } else {
    prompt_cache.state->trim_to(static_cast<int>(common));
    prompt_cache.tokens.resize(common);
  }
  for (int32_t t : prompt) sampler.accept(t);  // repetition context includes the prompt

  const auto t0 = Clock::now();
  std::vector<float> logits;
  const int chunk = std::max(1, opts.prefill_chunk);
  for (size_t i = common; i < prompt.size(); i += chunk) {
    const size_t n = std::min(prompt.size() - i, static_cast<size_t>(chunk));
    SequenceTokens in{prompt.subspan(i, n), prompt_cache.state.get()};
    logits = model.forward({&in, 1}, /*all_logits=*/false);
    prompt_cache.tokens.insert(prompt_cache.tokens.end(), prompt.begin() + i, prompt.begin() + i + n);
    if (opts.prefill_progress && prompt.size() - common > static_cast<size_t>(chunk))
      opts.prefill_progress(static_cast<int>(i + n - common), static_cast<int>(prompt.size() - common));
  }
  out.stats.prompt_tokens = static_cast<int>(prompt.size() - common);
  out.stats.prompt_seconds = seconds_since(t0);

  const auto t1 = Clock::now();
  // A NaN or infinite logit means the forward pass broke down (NaN weights, an overflow); sampling
  // would turn it into a meaningless token, so generation stops, naming the step (1-based) and the
  // position whose logits they are. The prefill's logits are checked here, each decode step's by
  // the executor's decode (NonFiniteLogits): LanguageModel's default and a device's sampling
  // decode check them on the host; a device's greedy decode keeps them on the device (it copies
  // back one token id; a check would cost a copy of the logits per token) and is not checked.
  int32_t tok = -1;
  for (int step = 0; step < opts.max_tokens; ++step) {
    try {
      if (step == 0) {
        check_finite(logits);
        tok = sampler.sample(logits);
      } else {
        tok = model.decode(*prompt_cache.state, out.tokens.back(), sampler);
      }
    } catch (const NonFiniteLogits&) {
      if (step > 0) prompt_cache.tokens.push_back(out.tokens.back());
      const int position = static_cast<int>(prompt_cache.tokens.size()) - 1;
      prompt_cache.reset();  // its K/V holds what produced them
      throw Error("generation step " + std::to_string(step + 1) + " (position " + std::to_string(position) +
                  "): the model produced non-finite logits (NaN/inf); its weights hold NaN/inf or its activations "
                  "overflowed (check the checkpoint's tensors, dtype and config.json)");
    }
    if (step > 0) prompt_cache.tokens.push_back(out.tokens.back());
    out.tokens.push_back(tok);
    const bool is_eos = std::find(opts.eos_ids.begin(), opts.eos_ids.end(), tok) != opts.eos_ids.end();
    const bool go_on = on_token ? on_token(tok) : true;
    if (is_eos || !go_on) {
      out.finish = FinishReason::Stop;
      break;
    }
  }
  // The last sampled token has not run through the model: the prompt cache holds what the state holds.
  out.stats.generated_tokens = static_cast<int>(out.tokens.size());
  out.stats.generate_seconds = seconds_since(t1);
  out.stats.peak_rss_bytes = peak_rss_bytes();
  return out;
}

}  // namespace cpplm
