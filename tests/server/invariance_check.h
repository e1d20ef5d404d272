// "Batching is invisible": each of 64 requests (different prompts and lengths, joining at random
// times, some cancelled) gets exactly the tokens it gets when it runs alone, greedy and seeded.
// Shared by the CPU suite (the bundled model) and the GPU suite (random weights of a published
// shape): the scheduler is driven directly, so the check sees token ids.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "server/scheduler.h"

namespace cpplm::test {

struct InvarianceCase {
  std::vector<int32_t> prompt;
  float temp = 0;
  uint64_t seed = 0;
  int max_tokens = 24;
  int cancel_after = -1;  // cancel once this many tokens arrived (-1: never)
  int delay_ms = 0;       // joins this long after the first request
};

// Runs `c` to the end (or its cancellation) on `s`; returns the tokens that arrived.
inline std::vector<int32_t> run_job(server::Scheduler& s, const InvarianceCase& c) {
  auto job = std::make_shared<server::Job>();
  job->req.n = 1;
  job->req.sampling.temp = c.temp;
  job->prompt = c.prompt;
  job->max_tokens = c.max_tokens;
  job->seed = c.seed;
  s.submit(job);
  std::vector<int32_t> got;
  while (!job->done()) {
    for (const server::ChoiceEvent& e : job->take(std::chrono::milliseconds(50))) got.insert(got.end(), e.tokens.begin(), e.tokens.end());
    if (c.cancel_after >= 0 && static_cast<int>(got.size()) >= c.cancel_after) job->cancel();
  }
  return got;
}

inline std::vector<InvarianceCase> invariance_cases(int vocab, int n, int max_prompt, uint64_t seed, int max_delay_ms = 300) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::vector<InvarianceCase> cases(n);
  for (int i = 0; i < n; ++i) {
    InvarianceCase& c = cases[i];
    const int len = 1 + static_cast<int>(rng() % max_prompt);
    for (int t = 0; t < len; ++t) c.prompt.push_back(static_cast<int32_t>(rng() % vocab));
    c.temp = i % 3 == 2 ? 0.8f : 0.0f;  // a third seeded sampling
    c.seed = 1000 + i;
    c.max_tokens = 8 + static_cast<int>(rng() % 24);
    c.cancel_after = i % 7 == 3 ? 3 : -1;
    c.delay_ms = max_delay_ms > 0 ? static_cast<int>(rng() % max_delay_ms) : 0;
  }
  return cases;
}

// Alone: one request at a time. Together: all within max_delay_ms, each from its own thread.
// Returns the gauges and counters of the run together.
inline server::Metrics::Snapshot check_invariance(server::ServedModel& served, server::SchedulerOptions opts, int n_requests,
                                                  int max_prompt, int max_delay_ms = 300) {
  opts.prefix_cache = false;  // prompts share no prefix here; tests/server/paged_test.cpp covers the cache
  server::Metrics metrics;
  std::vector<InvarianceCase> cases = invariance_cases(served.model->args().vocab_size, n_requests, max_prompt, 42, max_delay_ms);
  std::vector<std::vector<int32_t>> alone(cases.size()), together(cases.size());
  {
    server::Scheduler s(served, opts, metrics);
    for (size_t i = 0; i < cases.size(); ++i) {
      InvarianceCase c = cases[i];
      c.cancel_after = -1;
      alone[i] = run_job(s, c);
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  server::Metrics::Snapshot m;
  {
    server::Metrics metrics;
    server::Scheduler s(served, opts, metrics);
    std::vector<std::thread> clients;
    for (size_t i = 0; i < cases.size(); ++i)
      clients.emplace_back([&, i] {
        std::this_thread::sleep_until(t0 + std::chrono::milliseconds(cases[i].delay_ms));
        together[i] = run_job(s, cases[i]);
      });
    for (auto& t : clients) t.join();
    // The engine thread publishes its gauges after each step: all K/V is freed once it is idle.
    for (int i = 0; i < 100 && metrics.snapshot().kv_bytes != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    m = metrics.snapshot();
    EXPECT_EQ(m.running, 0);
    EXPECT_EQ(m.queued, 0);
    EXPECT_EQ(m.kv_bytes, 0u) << "K/V left allocated after every request finished";
  }
  int compared = 0, cancelled = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::vector<int32_t>& a = alone[i];
    const std::vector<int32_t>& b = together[i];
    if (cases[i].cancel_after >= 0) {  // a prefix of what it gets alone
      ++cancelled;
      EXPECT_LE(b.size(), a.size()) << "request " << i;
      EXPECT_TRUE(b.size() <= a.size() && std::equal(b.begin(), b.end(), a.begin())) << "request " << i << " (cancelled) changed its tokens";
    } else {
      EXPECT_EQ(b, a) << "request " << i << " (temp " << cases[i].temp << ") changed its tokens when batched";
    }
    ++compared;
  }
  std::printf("[ invariance ] %d requests (%d cancelled, %llu preemptions) on %s: each got its tokens from running alone\n",
              compared, cancelled, static_cast<unsigned long long>(m.preemptions), served.model->device().c_str());
  return m;
}

// Two requests that each fill the whole paged pool as they grow (5 blocks of 16 positions): the
// newer is preempted, replays its tokens when the older ends, and both get their tokens from
// running alone (one greedy, one seeded).
inline void check_preemption_replay(server::ServedModel& served) {
  server::SchedulerOptions o;
  o.max_concurrent = 2;
  o.ctx_size = 80;
  o.prefill_chunk = 16;
  o.kv_block_size = 16;
  o.kv_memory = served.model->make_sequence({})->bytes_per_position() * 80;
  o.prefix_cache = false;
  std::vector<InvarianceCase> cases = invariance_cases(served.model->args().vocab_size, 2, 10, 5, 0);
  for (size_t i = 0; i < cases.size(); ++i) {
    cases[i].max_tokens = 80 - static_cast<int>(cases[i].prompt.size());
    cases[i].cancel_after = -1;
    cases[i].temp = i == 0 ? 0.0f : 0.8f;
  }
  std::vector<std::vector<int32_t>> alone(2), together(2);
  const std::vector<int32_t> eos = std::move(served.eos);  // no early stop: both run to their length
  served.eos.clear();
  server::Metrics metrics;
  {
    server::Scheduler s(served, o, metrics);
    for (int i = 0; i < 2; ++i) alone[i] = run_job(s, cases[i]);
  }
  EXPECT_EQ(metrics.snapshot().preemptions, 0u);
  {
    server::Scheduler s(served, o, metrics);
    std::thread t([&] { together[1] = run_job(s, cases[1]); });
    together[0] = run_job(s, cases[0]);
    t.join();
  }
  served.eos = eos;
  EXPECT_GT(metrics.snapshot().preemptions, 0u) << "the pool holds one request's context: one had to give way";
  for (int i = 0; i < 2; ++i) EXPECT_EQ(together[i], alone[i]) << "request " << i << " changed its tokens through preemption";
}

}  // namespace cpplm::test
