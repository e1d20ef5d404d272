// A request as the scheduler runs it, and the channel its results flow back through to the HTTP
// thread that waits on it (events for streaming, the whole result otherwise).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/generate.h"
#include "sampling/sampler.h"
#include "server/request.h"

namespace cpplm::server {

using Clock = std::chrono::steady_clock;

// New output of one choice: text that became final, the logprobs of the tokens behind it, and on
// its last event the finish reason.
struct ChoiceEvent {
  int choice = 0;
  std::string text;
  std::vector<int32_t> tokens;  // the sampled tokens behind it (an EOS included)
  std::vector<TokenLogprobs> logprobs;
  std::optional<FinishReason> finish;
};

struct Usage {
  int prompt_tokens = 0;      // the prompt's tokens (once, whatever n is)
  int completion_tokens = 0;  // generated tokens of all choices
  int cached_tokens = 0;      // prompt tokens whose K/V was reused from an earlier request
};

class Job {
 public:
  // Filled in by the server before Scheduler::submit.
  std::string id;  // "chatcmpl-…" / "cmpl-…"
  GenerationRequest req;
  std::vector<int32_t> prompt;
  int max_tokens = 16;
  Clock::time_point arrived = Clock::now();
  uint64_t seed = 0;  // the request's seed (choice i samples with seed + i)

  // The scheduler's bookkeeping (engine thread only).
  int open_choices = 0;
  Usage progress;

  // The client went away or the server is stopping: the scheduler drops the job at its next step
  // and frees its K/V.
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

  // Engine thread side.
  void push(ChoiceEvent e);
  void finish(const Usage& u);                    // every choice has finished
  void fail(int status, const std::string& msg);  // the request cannot complete (e.g. non-finite logits)

  // HTTP side: waits up to `timeout` for events; returns what arrived. done() once finish/fail came
  // and every event was taken.
  std::vector<ChoiceEvent> take(std::chrono::milliseconds timeout);
  bool done() const;
  Usage usage() const;
  std::optional<std::pair<int, std::string>> error() const;
  // Time to first token (seconds), for the request's log line; < 0 when no token came.
  double ttft() const;

 private:
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ChoiceEvent> events_;
  bool finished_ = false;
  Usage usage_;
  std::optional<std::pair<int, std::string>> error_;
  std::optional<Clock::time_point> first_token_;
};

}  // namespace cpplm::server
