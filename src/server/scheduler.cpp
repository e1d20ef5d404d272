// Scheduler: admission, continuous batching, chunked prefill, prefix reuse and per-sequence output.
#include "server/scheduler.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "runtime/threads.h"
#include "tokenizer/stop_matcher.h"

namespace cpplm::server {

struct Scheduler::Seq {
  std::shared_ptr<Job> job;
  int choice = 0;
  std::unique_ptr<SequenceState> state;
  std::vector<int32_t> held;  // the tokens the state holds
  size_t prefilled = 0;       // prompt tokens in the state
  // Preempted after sampling: the generated tokens it had run, run again one per decode step (as
  // they first ran, so their K/V and what follows are what they were) before `last` is decoded.
  std::vector<int32_t> replay;
  size_t replayed = 0;
  std::unique_ptr<Sampler> replay_sampler;  // greedy, output ignored: the request's sampler is not advanced
  std::vector<uint64_t> names;              // prefix-cache names of its first names.size() blocks (published)
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<StreamingDetokenizer> detok;
  std::unique_ptr<StopMatcher> stops;
  int generated = 0;
  int32_t last = -1;  // the last sampled token (not yet run)
  bool done = false;
  size_t reserve = 0;  // worst-case K/V bytes counted in reserved_
  Clock::time_point last_token;
  TokenLogprobs lp;
  bool decoding() const { return last >= 0; }
  bool prefilling() const { return state && prefilled < job->prompt.size(); }
  bool decode_row() const { return !done && state && !prefilling() && decoding(); }
  bool replaying() const { return replayed < replay.size(); }
};

struct Scheduler::Cached {
  std::unique_ptr<SequenceState> state;
  std::vector<int32_t> tokens;
};

Scheduler::Scheduler(ServedModel& served, const SchedulerOptions& opts, Metrics& metrics)
    : served_(served), opts_(opts), metrics_(metrics) {
  if (opts_.prefill_chunk <= 0)
    opts_.prefill_chunk = served_.model->max_decode_batch() > 0 && opts_.max_concurrent > kLargePrefillAbove
                              ? kLargePrefillChunk
                              : kDefaultPrefillChunk;
  bytes_per_position_ = served_.model->make_sequence({std::nullopt, opts_.kv_bits})->bytes_per_position();
  if (opts_.kv_memory == 0) {  // every sequence at full context, in whole blocks where paged
    const size_t b = static_cast<size_t>(std::max(1, opts_.kv_block_size));
    const size_t ctx = (static_cast<size_t>(opts_.ctx_size) + b - 1) / b * b;
    opts_.kv_memory = static_cast<size_t>(opts_.max_concurrent) * ctx * bytes_per_position_;
  }
  if (opts_.kv_block_size > 0)
    pool_ = served_.model->enable_kv_pool(opts_.kv_memory, opts_.kv_block_size, {std::nullopt, opts_.kv_bits});
  if (pool_) {
    const int b = pool_->block_size();
    opts_.prefill_chunk = (std::max(opts_.prefill_chunk, b) + b - 1) / b * b;  // whole blocks (blocks_needed)
    block_bytes_ = bytes_per_position_ * static_cast<size_t>(b);
    opts_.kv_memory = static_cast<size_t>(pool_->total_blocks()) * block_bytes_;  // what the device could give
    shares_blocks_ = served_.model->make_sequence({std::nullopt, opts_.kv_bits})->shares_blocks();
  }
  opts_.prefill_chunk = std::max(1, opts_.prefill_chunk);
  fixed_rows_ = served_.model->fix_prefill_rows(opts_.prefill_chunk, {std::nullopt, opts_.kv_bits});
  if (opts_.prefill_budget <= 0) opts_.prefill_budget = (served_.model->max_decode_batch() > 0 ? 8 : 2) * opts_.prefill_chunk;
  const int threads = opts_.threads > 0 ? opts_.threads : compute_threads();  // --threads, as set for this thread
  thread_ = std::thread([this, threads] {
    set_compute_threads(threads);
    loop();
  });
}

Scheduler::~Scheduler() {
  shutdown(std::chrono::milliseconds(0));
  if (fixed_rows_) served_.model->fix_prefill_rows(0, {});
}

int Scheduler::positions(const Job& j) const {
  return static_cast<int>(std::min<size_t>(opts_.ctx_size, j.prompt.size() + static_cast<size_t>(j.max_tokens)));
}

size_t Scheduler::need(const Job& j) const {
  if (pool_) {  // whole blocks
    const size_t b = static_cast<size_t>(pool_->block_size());
    return static_cast<size_t>(j.req.n) * ((static_cast<size_t>(positions(j)) + b - 1) / b) * block_bytes_;
  }
  return static_cast<size_t>(j.req.n) * static_cast<size_t>(positions(j)) * bytes_per_position_;
}

void Scheduler::submit(const std::shared_ptr<Job>& job) {
  const size_t p = job->prompt.size();
  if (p == 0) throw ApiError(400, "the prompt has no tokens", job->req.chat ? "messages" : "prompt");
  if (p + static_cast<size_t>(job->max_tokens) > static_cast<size_t>(opts_.ctx_size))
    throw ApiError(400,
                   "this server's context is " + std::to_string(opts_.ctx_size) +
                       " tokens per request (--ctx-size); you asked for " + std::to_string(p + job->max_tokens) + " (" +
                       std::to_string(p) + " in the prompt, " + std::to_string(job->max_tokens) + " to generate)",
                   p >= static_cast<size_t>(opts_.ctx_size) ? (job->req.chat ? "messages" : "prompt") : "max_tokens",
                   "context_length_exceeded");
  if (job->req.n > opts_.max_concurrent)
    throw ApiError(400,
                   "n is " + std::to_string(job->req.n) + ", more than the sequences this server runs at once (" +
                       std::to_string(opts_.max_concurrent) + ", --max-concurrent)",
                   "n");
  if (need(*job) > (pool_ ? static_cast<size_t>(pool_->total_blocks()) * block_bytes_ : opts_.kv_memory))
    throw ApiError(400,
                   "this request needs " + std::to_string(need(*job) >> 20) +
                       " MiB of K/V cache, more than the server's budget of " + std::to_string(opts_.kv_memory >> 20) +
                       " MiB (--kv-memory); ask for fewer tokens or a smaller n",
                   "max_tokens");
  job->open_choices = job->req.n;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_ || stopping_) throw ApiError(503, "the server is shutting down");
    if (static_cast<int>(queue_.size()) >= opts_.max_queue)
      throw ApiError(429, "the server is busy: " + std::to_string(queue_.size()) + " requests are waiting; retry shortly");
    queue_.push_back(job);
    idle_ = false;
  }
  cv_.notify_all();
}

size_t Scheduler::kv_in_use() const {
  if (pool_) return static_cast<size_t>(pool_->held_blocks()) * block_bytes_;
  size_t b = 0;
  for (const auto& s : running_)
    if (s->state) b += s->state->nbytes();
  return b;
}

size_t Scheduler::cache_bytes() const {
  if (pool_) return static_cast<size_t>(pool_->evictable_blocks()) * block_bytes_;
  size_t b = 0;
  for (const auto& c : cache_) b += c->state->nbytes();
  return b;
}

void Scheduler::publish_gauges() {
  size_t queued;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued = queue_.size();
  }
  int running = 0;
  for (const auto& s : running_) running += !s->done;
  metrics_.gauges(running, static_cast<int>(queued), kv_in_use(), cache_bytes(), opts_.kv_memory, cache_.size());
  if (pool_) metrics_.pool(pool_->total_blocks(), pool_->free_blocks(), pool_->cached_blocks());
}

int Scheduler::blocks_needed(std::span<const int32_t> tokens, int n, std::vector<int32_t>& ids,
                             std::vector<uint64_t>& names) const {
  ids.clear();
  names.clear();
  const size_t b = static_cast<size_t>(pool_->block_size());
  int unheld = 0;
  if (opts_.prefix_cache && shares_blocks_)  // whole blocks before the last token (it is always run, for its logits)
    for (uint64_t parent = 0; (ids.size() + 1) * b < tokens.size();) {
      const auto block = tokens.subspan(ids.size() * b, b);
      const int32_t id = pool_->find(parent, block);
      if (id < 0) break;
      unheld += pool_->refs(id) == 0;
      ids.push_back(id);
      names.push_back(parent = KVPool::name(parent, block));
    }
  // Unless the model computes rows alike in any chunk (fixed_rows_), prefill chunks start at
  // multiples of prefill_chunk (a multiple of the block size), so a prompt runs in the same chunks
  // with and without the cache (and gets the same K/V and tokens): only whole chunks of cached
  // blocks are taken.
  const size_t per_chunk = fixed_rows_ ? 1 : static_cast<size_t>(opts_.prefill_chunk) / b;
  while (ids.size() % per_chunk != 0) {
    unheld -= pool_->refs(ids.back()) == 0;
    ids.pop_back();
    names.pop_back();
  }
  const int own = static_cast<int>((tokens.size() + b - 1) / b) - static_cast<int>(ids.size());
  return unheld + n * own;
}

void Scheduler::place(Seq& s, const std::vector<int32_t>& ids, const std::vector<uint64_t>& names) {
  const std::vector<int32_t>& src = s.job->prompt;
  s.state = served_.model->make_sequence({std::nullopt, opts_.kv_bits});
  if (!ids.empty()) {
    for (int32_t id : ids) pool_->retain(id);
    s.state->adopt_blocks(ids);
  }
  const size_t cached = ids.size() * static_cast<size_t>(pool_->block_size());
  s.held.assign(src.begin(), src.begin() + cached);
  s.prefilled = cached;
  s.names = names;
  s.state->reserve(static_cast<int>(src.size()));  // every block of its prompt now: prefill never waits
}

bool Scheduler::admit_paged(const std::shared_ptr<Job>& job, bool place_now) {
  std::vector<int32_t> ids;
  std::vector<uint64_t> names;
  const int n = job->req.n;
  // One block of headroom per sequence when others run, so that admission alone does not preempt.
  const size_t others = running_.size() - (place_now ? static_cast<size_t>(n) : 0);
  const int headroom = others == 0 ? 0 : n;
  if (pool_->free_blocks() < blocks_needed(job->prompt, n, ids, names) + headroom) return false;
  if (!place_now) return true;
  for (int c = 0; c < n; ++c) place(*running_[running_.size() - n + c], ids, names);
  job->progress.cached_tokens = static_cast<int>(ids.size()) * pool_->block_size();
  return true;
}

void Scheduler::admit_whole(const std::shared_ptr<Job>& job) {
  for (size_t i = running_.size() - job->req.n; i < running_.size(); ++i) {
    Seq& s = *running_[i];
    s.reserve = need(*job) / job->req.n;
    reserved_ += s.reserve;
    // The longest cached prefix of the prompt, if worth it. Not for several choices: they would
    // start from different K/V (one reused, the others fresh), and greedy choices must agree.
    if (job->req.n == 1 && opts_.prefix_cache) {
      size_t best = 0, best_i = 0;
      for (size_t i = 0; i < cache_.size(); ++i) {
        const auto& t = cache_[i]->tokens;
        size_t k = 0;
        while (k < t.size() && k + 1 < job->prompt.size() && t[k] == job->prompt[k]) ++k;
        if (k > best && cache_[i]->state->can_trim_to(static_cast<int>(k))) best = k, best_i = i;
      }
      if (best >= static_cast<size_t>(opts_.min_prefix_reuse)) {
        s.state = std::move(cache_[best_i]->state);
        cache_.erase(cache_.begin() + best_i);
        s.state->trim_to(static_cast<int>(best));
        s.held.assign(job->prompt.begin(), job->prompt.begin() + best);
        s.prefilled = best;
        job->progress.cached_tokens = static_cast<int>(best);
      }
    }
    if (!s.state) s.state = served_.model->make_sequence({std::nullopt, opts_.kv_bits});
    s.state->reserve(positions(*job));  // what admission counted
  }
}

void Scheduler::admit() {
  if (pool_) {  // preempted sequences come back first, oldest first; nothing new is admitted before them
    std::vector<int32_t> ids;
    std::vector<uint64_t> names;
    int holding = 0;
    for (const auto& s : running_) holding += s->state != nullptr;
    for (auto& s : running_) {
      if (s->done || s->state) continue;
      if (pool_->free_blocks() < blocks_needed(s->job->prompt, 1, ids, names) + (holding > 0 ? 1 : 0)) return;
      place(*s, ids, names);
      ++holding;
    }
  }
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (!queue_.empty() && queue_.front()->cancelled()) {
        queue_.front()->finish({});
        queue_.pop_front();
      }
      if (queue_.empty()) return;
      job = queue_.front();
      if (static_cast<int>(running_.size()) + job->req.n > opts_.max_concurrent) return;
      if (pool_) {
        if (!admit_paged(job, false)) return;  // waits for blocks to free up
      } else {
        const size_t nd = need(*job);
        while (!cache_.empty() && reserved_ + nd + cache_bytes() > opts_.kv_memory) cache_.erase(cache_.begin());
        if (reserved_ + nd > opts_.kv_memory) return;  // waits for running sequences to finish
      }
    }
    const size_t first = running_.size();
    for (int c = 0; c < job->req.n; ++c) {
      auto s = std::make_unique<Seq>();
      s->job = job;
      s->choice = c;
      SamplingParams sp = job->req.sampling;
      sp.seed = job->seed + static_cast<uint64_t>(c);
      s->sampler = std::make_unique<Sampler>(sp);
      for (int32_t t : job->prompt) s->sampler->accept(t);  // the repetition penalty sees the prompt
      if (served_.tokenizer) s->detok = std::make_unique<StreamingDetokenizer>(*served_.tokenizer, /*skip_special_tokens=*/false);
      s->stops = std::make_unique<StopMatcher>(job->req.stop);
      running_.push_back(std::move(s));
    }
    if (pool_ && !admit_paged(job, true)) {  // cannot happen: it fitted above and nothing ran since
      running_.resize(first);
      return;
    }
    if (!pool_) admit_whole(job);
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.pop_front();
    }
    job->progress.prompt_tokens = static_cast<int>(job->prompt.size());
  }
}

bool Scheduler::make_room(Seq& s) {
  for (;;) {
    try {
      s.state->reserve(s.state->offset() + 1);
      return true;
    } catch (const KVPoolExhausted&) {}
    Seq* victim = nullptr;  // the most recently admitted sequence holding blocks (s itself at worst)
    for (auto it = running_.rbegin(); it != running_.rend() && !victim; ++it)
      if (!(*it)->done && (*it)->state) victim = it->get();
    preempt(*victim);
    if (victim == &s) return false;
  }
}

void Scheduler::preempt(Seq& s) {
  publish(s);  // its full blocks stay cached (evictable): coming back may find them
  s.state.reset();
  const size_t p = s.job->prompt.size();
  if (s.held.size() > p) {  // generated tokens it had run, then those it had yet to replay
    std::vector<int32_t> r(s.held.begin() + static_cast<std::ptrdiff_t>(p), s.held.end());
    r.insert(r.end(), s.replay.begin() + static_cast<std::ptrdiff_t>(s.replayed), s.replay.end());
    s.replay = std::move(r);
    s.replayed = 0;
  }
  s.held.clear();
  s.names.clear();
  s.prefilled = 0;
  metrics_.preempted();
}

void Scheduler::publish(Seq& s) {
  if (!pool_ || !shares_blocks_ || !opts_.prefix_cache || !s.state) return;
  const std::vector<int32_t>& ids = s.state->blocks()->ids();
  const size_t b = static_cast<size_t>(pool_->block_size());
  const size_t full = std::min(s.held.size() / b, ids.size());
  while (s.names.size() < full) {
    const size_t i = s.names.size();
    const std::span<const int32_t> block(s.held.data() + i * b, b);
    const uint64_t parent = i > 0 ? s.names[i - 1] : 0;
    pool_->publish(parent, block, ids[i]);
    s.names.push_back(KVPool::name(parent, block));
  }
}

void Scheduler::finish_seq(Seq& s) {
  s.done = true;
  reserved_ -= s.reserve;
  s.reserve = 0;
  Job& job = *s.job;
  job.progress.completion_tokens += s.generated;
  if (pool_) {
    if (!job.cancelled()) publish(s);
  } else if (opts_.prefix_cache && !job.cancelled() && s.state && s.state->offset() > 0) {
    auto c = std::make_unique<Cached>();
    c->state = std::move(s.state);
    c->tokens = std::move(s.held);
    cache_.push_back(std::move(c));
    const size_t keep = static_cast<size_t>(std::max(4, opts_.max_concurrent));
    while (cache_.size() > keep) cache_.erase(cache_.begin());
  }
  s.state.reset();
  if (--job.open_choices == 0) job.finish(job.progress);
}

// Streams a sampled token: text that became final (stop strings held back), its logprobs, and
// the finish reason when this token ends the choice.
void Scheduler::emit(Seq& s, int32_t tok, TokenLogprobs* lp) {
  const auto now = Clock::now();
  if (s.generated > 0) metrics_.token_latency(std::chrono::duration<double>(now - s.last_token).count());
  s.last_token = now;
  ++s.generated;
  s.last = tok;
  const Job& job = *s.job;
  ChoiceEvent e;
  e.choice = s.choice;
  e.tokens.push_back(tok);
  if (lp) e.logprobs.push_back(*lp);
  const auto& eos = served_.eos;
  const bool is_eos = std::find(eos.begin(), eos.end(), tok) != eos.end();
  if (!is_eos && s.detok) e.text = s.stops->push(s.detok->add(tok));
  std::optional<FinishReason> why;
  if (is_eos || s.stops->stopped()) {
    why = FinishReason::Stop;
  } else if (s.generated >= job.max_tokens || job.prompt.size() + s.generated >= static_cast<size_t>(opts_.ctx_size)) {
    why = FinishReason::Length;
  }
  if (why && !s.stops->stopped() && s.detok) {
    e.text += s.stops->push(s.detok->finish());
    e.text += s.stops->stopped() ? "" : s.stops->flush();
    if (s.stops->stopped()) why = FinishReason::Stop;
  }
  e.finish = why;
  s.job->push(std::move(e));
  if (why) finish_seq(s);
}

size_t Scheduler::next_chunk(const Seq& s) const {
  const size_t chunk = static_cast<size_t>(opts_.prefill_chunk);
  // Chunks at multiples of `chunk`, unless any chunk computes its rows alike.
  return std::min(s.job->prompt.size() - s.prefilled, fixed_rows_ ? chunk : chunk - s.prefilled % chunk);
}

int Scheduler::prefill(std::span<Seq* const> group) {
  std::vector<SequenceTokens> in;
  std::vector<size_t> ns;
  size_t rows = 0;
  for (Seq* s : group) {
    ns.push_back(next_chunk(*s));
    in.push_back({std::span<const int32_t>(s->job->prompt).subspan(s->prefilled, ns.back()), s->state.get()});
    rows += ns.back();
  }
  std::vector<float> logits = served_.model->forward(in, /*all_logits=*/false);
  const size_t vocab = logits.size() / group.size();
  for (size_t i = 0; i < group.size(); ++i) {
    Seq& s = *group[i];
    const std::vector<int32_t>& prompt = s.job->prompt;
    s.held.insert(s.held.end(), prompt.begin() + s.prefilled, prompt.begin() + s.prefilled + ns[i]);
    s.prefilled += ns[i];
    publish(s);
    if (s.prefilled < prompt.size() || s.decoding()) continue;  // a preempted one replays next
    const std::span<float> row(logits.data() + i * vocab, vocab);
    if (!all_finite(row)) {
      fail_seq(s, "the model produced non-finite logits (NaN/inf) for the prompt");
      continue;
    }
    const GenerationRequest& r = s.job->req;
    const int32_t tok = s.sampler->sample(row, r.logprobs ? &s.lp : nullptr, r.top_logprobs);
    emit(s, tok, r.logprobs ? &s.lp : nullptr);
  }
  // A fixed-shape call costs a whole chunk, whatever it holds.
  return fixed_rows_ ? opts_.prefill_chunk : static_cast<int>(rows);
}

void Scheduler::fail_seq(Seq& s, const std::string& msg) {
  s.job->fail(500, msg);
  s.job->cancel();
}

void Scheduler::step() {
  // Cancelled requests leave at once, freeing their K/V.
  for (auto& s : running_)
    if (!s->done && s->job->cancelled()) {
      s->state.reset();
      finish_seq(*s);
    }
  // Paged K/V: room for one more position in each decoding sequence, oldest first (preempting the
  // newest when the pool runs out).
  if (pool_)
    for (auto& s : running_)
      if (s->decode_row()) make_room(*s);
  // One batched decode step of every decoding sequence.
  std::vector<DecodeRow> rows;
  std::vector<Seq*> owners;
  for (auto& s : running_)
    if (s->decode_row()) {
      const GenerationRequest& r = s->job->req;
      if (s->replaying()) {
        if (!s->replay_sampler) s->replay_sampler = std::make_unique<Sampler>(SamplingParams{});
        rows.push_back({s->state.get(), s->replay[s->replayed], s->replay_sampler.get(), nullptr, 0});
      } else {
        rows.push_back({s->state.get(), s->last, s->sampler.get(), r.logprobs ? &s->lp : nullptr, r.top_logprobs});
      }
      owners.push_back(s.get());
    }
  if (!rows.empty()) {
    step_batch(*served_.model, rows);
    for (size_t i = 0; i < rows.size(); ++i) {
      Seq& s = *owners[i];
      s.held.push_back(rows[i].token);
      if (s.replaying()) {
        if (++s.replayed == s.replay.size()) s.replay.clear(), s.replayed = 0, s.replay_sampler.reset();
        publish(s);
        continue;
      }
      if (rows[i].non_finite) {
        fail_seq(s, "the model produced non-finite logits (NaN/inf) at position " + std::to_string(s.held.size() - 1));
        continue;
      }
      publish(s);
      emit(s, rows[i].next, rows[i].logprobs);
    }
  }
  // Prefill chunks, oldest requests first, up to the step's budget (at least one chunk); with fixed
  // rows, the chunks of several sequences share a forward call of at most a chunk of tokens.
  int budget = opts_.prefill_budget;
  std::vector<Seq*> group;
  size_t group_rows = 0;
  auto run = [&] {
    if (!group.empty()) budget -= prefill(group);
    group.clear();
    group_rows = 0;
  };
  for (auto& s : running_) {
    if (s->done || !s->prefilling() || s->job->cancelled()) continue;
    const size_t n = next_chunk(*s);
    if (!fixed_rows_ || group_rows + n > static_cast<size_t>(opts_.prefill_chunk)) run();
    if (budget <= 0) break;
    group.push_back(s.get());
    group_rows += n;
  }
  run();
}

void Scheduler::retire_done() {
  running_.erase(std::remove_if(running_.begin(), running_.end(), [](const auto& s) { return s->done; }), running_.end());
}

void Scheduler::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !running_.empty(); });
      if (stopping_) break;
    }
    try {
      admit();
      step();
    } catch (const std::exception& e) {  // a device error: the running requests fail, the server stays up
      std::fprintf(stderr, "cpplm serve: step failed: %s\n", e.what());
      for (auto& s : running_)
        if (!s->done) {
          s->job->fail(500, std::string("the model failed: ") + e.what());
          s->job->cancel();
          s->state.reset();
          finish_seq(*s);
        }
    }
    retire_done();
    publish_gauges();
    std::lock_guard<std::mutex> lock(mu_);
    idle_ = running_.empty() && queue_.empty();
  }
  // Stopping: whatever is left is cancelled.
  for (auto& s : running_)
    if (!s->done) {
      s->job->fail(503, "the server is shutting down");
      s->state.reset();
      finish_seq(*s);
    }
  running_.clear();
  cache_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& j : queue_) j->fail(503, "the server is shutting down");
  queue_.clear();
}

void Scheduler::shutdown(std::chrono::milliseconds grace) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) return;
    draining_ = true;
  }
  const auto until = Clock::now() + grace;
  while (Clock::now() < until) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (idle_) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  publish_gauges();
}

}  // namespace cpplm::server
