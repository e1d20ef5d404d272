// The scheduler: one engine thread owns the model and runs every request through continuous
// batching. Requests join and leave the running batch at step boundaries; each step runs one
// batched decode step of every decoding sequence and prefill chunks of waiting prompts (a long
// prompt advances a chunk per step, so it does not stall the others). Each sequence keeps its own
// sampler, RNG, stop strings and detokenizer, and no row's logits depend on the other rows of its
// step (step_batch: exact groups on the CPU, a batched step whose rows never mix on the GPU), so a
// request's tokens do not depend on what else runs.
//
// K/V memory: on a device with a paged pool (LanguageModel::enable_kv_pool) the budget is one pool
// of blocks. A sequence holds its prompt's blocks from admission and takes one more whenever its
// last fills; when none is free, the most recently admitted sequences are preempted (their blocks
// freed, their tokens recomputed when blocks free up, their output unchanged). Full blocks go to
// the prefix cache as they fill (KVPool: keyed by every token up to their end), and a new prompt
// shares every cached block of its prefix. Elsewhere each sequence reserves its worst case and
// finished sequences are kept whole for prompts that extend them.
#pragma once
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <thread>

#include "server/job.h"
#include "server/metrics.h"
#include "server/served_model.h"

namespace cpplm::server {

constexpr int kDefaultPrefillChunk = 256, kLargePrefillChunk = 512, kLargePrefillAbove = 32;

struct SchedulerOptions {
  int max_concurrent = 8;  // sequences (choices) prefilling or decoding at once
  int max_queue = 64;      // requests waiting beyond those; more get 429
  int ctx_size = 2048;     // positions per sequence (prompt + generated)
  size_t kv_memory = 0;    // K/V budget in bytes: running sequences' worst case + the prefix cache
  // Prompt tokens per forward call of one sequence; 0: kDefaultPrefillChunk, or kLargePrefillChunk on a device with
  // a batched decode step serving more than kLargePrefillAbove sequences (larger GEMMs prefill faster there, and a
  // busy server prefills more; a lone short prompt costs a whole chunk's rows where calls have a fixed shape).
  int prefill_chunk = 0;
  // Prompt tokens per step over all sequences (at least one chunk); 0: 8 chunks on a device with a
  // batched decode step (a GPU, where a step's fixed cost is worth spreading), else 2.
  int prefill_budget = 0;
  int kv_bits = 0;            // CacheOptions::kv_bits
  bool prefix_cache = true;   // reuse earlier requests' K/V for prompts that start the same way
  int min_prefix_reuse = 16;  // shortest shared prefix worth reusing (unpaged K/V)
  int kv_block_size = 32;     // positions per block of a paged K/V pool; 0: an allocation per sequence
  int threads = 0;            // CPU compute threads of the engine thread (0: those of the creating thread)
};

class Scheduler {
 public:
  Scheduler(ServedModel& served, const SchedulerOptions& opts, Metrics& metrics);
  ~Scheduler();  // stops the engine thread (pending jobs fail with 503)

  // K/V bytes of one position of one sequence (all layers), for admission.
  size_t bytes_per_position() const { return bytes_per_position_; }
  const SchedulerOptions& options() const { return opts_; }
  // The device's paged K/V pool (null without one). Its bookkeeping belongs to the engine thread:
  // read it only while nothing runs.
  const KVPool* kv_pool() const { return pool_; }
  // Whether prompts resume from any cached block (the model's fix_prefill_rows), not whole chunks.
  bool fixed_prefill_rows() const { return fixed_rows_; }

  // Queues a job (prompt, max_tokens and req filled in). Throws ApiError: 400 when it can never
  // fit (context or K/V budget), 429 when the queue is full, 503 when stopping.
  void submit(const std::shared_ptr<Job>& job);

  // Stops admitting (new submits get 503), lets running and queued jobs finish for up to `grace`,
  // then cancels what is left and stops the engine thread.
  void shutdown(std::chrono::milliseconds grace);

 private:
  struct Seq;
  struct Cached;
  void loop();
  void admit();
  // Whether the pool can take the job now; with place_now, gives its sequences (the last req.n of
  // running_) their states.
  bool admit_paged(const std::shared_ptr<Job>& job, bool place_now);
  void admit_whole(const std::shared_ptr<Job>& job);
  // Paged: blocks to take for `n` sequences of `tokens`, the cached ones shared; fills the cached
  // prefix's blocks and names.
  int blocks_needed(std::span<const int32_t> tokens, int n, std::vector<int32_t>& ids, std::vector<uint64_t>& names) const;
  void place(Seq& s, const std::vector<int32_t>& ids, const std::vector<uint64_t>& names);  // a state for s
  bool make_room(Seq& s);  // one more position for s, preempting others if need be; false: s itself went
  void preempt(Seq& s);
  void publish(Seq& s);  // its newly full blocks to the prefix cache
  void step();
  size_t next_chunk(const Seq& s) const;  // tokens of its prompt's next chunk
  // Runs the next chunk of each one's prompt in one forward call (several only with fixed_rows_, at
  // most a chunk of tokens in all); returns its cost in tokens (a whole chunk with fixed_rows_).
  int prefill(std::span<Seq* const> group);
  void fail_seq(Seq& s, const std::string& msg);  // a 500 for its request, which is cancelled
  void emit(Seq& s, int32_t tok, TokenLogprobs* lp);
  void finish_seq(Seq& s);
  void retire_done();
  size_t kv_in_use() const;           // running sequences' K/V
  size_t cache_bytes() const;         // the prefix cache's
  int positions(const Job& j) const;  // positions one choice of j may hold
  size_t need(const Job& j) const;    // K/V bytes of all its choices
  void publish_gauges();

  ServedModel& served_;
  SchedulerOptions opts_;
  Metrics& metrics_;
  size_t bytes_per_position_ = 0;
  KVPool* pool_ = nullptr;  // the device's paged K/V pool, if it has one
  size_t block_bytes_ = 0;
  bool shares_blocks_ = false;  // its sequences can share full blocks (no rings)
  // The model computes every chunk of at most prefill_chunk tokens row by row alike
  // (LanguageModel::fix_prefill_rows): a prompt resumes from any cached block, and chunks need not
  // start at multiples of prefill_chunk.
  bool fixed_rows_ = false;

  std::mutex mu_;  // guards queue_ and stopping_
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false, draining_ = false;
  bool idle_ = true;  // nothing queued or running (set by submit and by the engine thread)

  // Engine thread only.
  std::vector<std::unique_ptr<Seq>> running_;
  std::vector<std::unique_ptr<Cached>> cache_;  // finished sequences kept for prefix reuse (LRU order)
  size_t reserved_ = 0;                         // worst-case K/V of running sequences
  std::thread thread_;
};

}  // namespace cpplm::server
