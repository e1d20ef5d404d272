// Generation loop with prefix reuse, chunked prefill, sampling and stop conditions.
#include "runtime/generate.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
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

GenerationOutput generate(LanguageModel& model, Session& session, std::span<const int32_t> prompt,
                          const GenerateOptions& opts, const TokenCallback& on_token) {
  if (prompt.empty()) throw Error("generate: the prompt has no tokens");
  if (opts.max_tokens < 0) throw Error("generate: max_tokens must be >= 0");
  Sampler sampler(opts.sampling);
  GenerationOutput out;

  // Reuse the cached prefix when the state can be rolled back to it.
  size_t common = 0;
  if (session.state) {
    while (common < session.tokens.size() && common < prompt.size() && session.tokens[common] == prompt[common]) ++common;
    if (common == prompt.size()) --common;  // at least one token must run to produce logits
    if (!session.state->can_trim_to(static_cast<int>(common))) common = 0;
  }
  if (!session.state || common == 0) {
    session.state = model.make_sequence({opts.max_kv_size, opts.kv_bits});
    session.tokens.clear();
  } else {
    session.state->trim_to(static_cast<int>(common));
    session.tokens.resize(common);
  }
  for (int32_t t : prompt) sampler.accept(t);  // repetition context includes the prompt

  const auto t0 = Clock::now();
  std::vector<float> logits;
  const int chunk = std::max(1, opts.prefill_chunk);
  for (size_t i = common; i < prompt.size(); i += chunk) {
    const size_t n = std::min(prompt.size() - i, static_cast<size_t>(chunk));
    SequenceTokens in{prompt.subspan(i, n), session.state.get()};
    logits = model.forward({&in, 1}, /*all_logits=*/false);
    session.tokens.insert(session.tokens.end(), prompt.begin() + i, prompt.begin() + i + n);
  }
  out.stats.prompt_tokens = static_cast<int>(prompt.size() - common);
  out.stats.prompt_seconds = seconds_since(t0);

  const auto t1 = Clock::now();
  int32_t tok = -1;
  for (int step = 0; step < opts.max_tokens; ++step) {
    if (step == 0) {
      tok = sampler.sample(logits);
    } else {
      tok = model.decode(*session.state, out.tokens.back(), sampler);
      session.tokens.push_back(out.tokens.back());
    }
    out.tokens.push_back(tok);
    const bool is_eos = std::find(opts.eos_ids.begin(), opts.eos_ids.end(), tok) != opts.eos_ids.end();
    const bool go_on = on_token ? on_token(tok) : true;
    if (is_eos || !go_on) {
      out.finish = FinishReason::Stop;
      break;
    }
  }
  // The last sampled token has not run through the model: the session holds what the state holds.
  out.stats.generated_tokens = static_cast<int>(out.tokens.size());
  out.stats.generate_seconds = seconds_since(t1);
  out.stats.peak_rss_bytes = peak_rss_bytes();
  return out;
}

}  // namespace cpplm
