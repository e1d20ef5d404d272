// The prefix cache changes no token: 12 requests sharing a 300-token prefix, the first alone and
// the rest at once, get the tokens they get with the cache off, and report the cached tokens (whole
// prefill chunks, or every whole block where the model computes any chunk's rows alike).
// Shared by the CPU suite and the GPU suite (the scheduler driven directly: token ids only).
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "server/scheduler.h"

namespace cpplm::test {

// Runs `prompt` greedily to the end; returns its tokens and fills `cached` (usage.cached_tokens).
inline std::vector<int32_t> run_prompt(server::Scheduler& s, const std::vector<int32_t>& prompt, int max_tokens,
                                       int* cached = nullptr) {
  auto job = std::make_shared<server::Job>();
  job->req.n = 1;
  job->req.sampling.temp = 0;
  job->prompt = prompt;
  job->max_tokens = max_tokens;
  s.submit(job);
  std::vector<int32_t> got;
  while (!job->done())
    for (const server::ChoiceEvent& e : job->take(std::chrono::milliseconds(50)))
      got.insert(got.end(), e.tokens.begin(), e.tokens.end());
  if (cached) *cached = job->usage().cached_tokens;
  return got;
}

inline void check_prefix_cache(server::ServedModel& served, server::SchedulerOptions o) {
  std::mt19937 rng(3);
  const int vocab = served.model->args().vocab_size;
  std::vector<int32_t> system;
  for (int i = 0; i < 300; ++i) system.push_back(static_cast<int32_t>(rng() % vocab));
  std::vector<std::vector<int32_t>> prompts(12, system);
  for (auto& p : prompts)
    for (int i = 0; i < 20; ++i) p.push_back(static_cast<int32_t>(rng() % vocab));
  o.max_concurrent = 12;
  o.ctx_size = 512;
  o.prefill_chunk = 64;
  std::vector<std::vector<int32_t>> off(prompts.size()), on(prompts.size());
  std::vector<int> cached(prompts.size(), 0);
  int expect_cached = 256;  // the 300 shared tokens hold 4 whole chunks of 64
  {
    o.prefix_cache = false;
    server::Metrics metrics;
    server::Scheduler s(served, o, metrics);
    for (size_t i = 0; i < prompts.size(); ++i) off[i] = run_prompt(s, prompts[i], 12);
  }
  {
    o.prefix_cache = true;
    server::Metrics metrics;
    server::Scheduler s(served, o, metrics);
    on[0] = run_prompt(s, prompts[0], 12, &cached[0]);
    std::vector<std::thread> clients;
    for (size_t i = 1; i < prompts.size(); ++i)
      clients.emplace_back([&, i] { on[i] = run_prompt(s, prompts[i], 12, &cached[i]); });
    for (auto& t : clients) t.join();
    ASSERT_NE(s.kv_pool(), nullptr);
    EXPECT_GT(s.kv_pool()->cached_blocks(), 0);
    const int b = s.kv_pool()->block_size();
    if (s.fixed_prefill_rows()) expect_cached = 300 / b * b;  // every whole block of the shared tokens
  }
  EXPECT_EQ(cached[0], 0);
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(on[i], off[i]) << "request " << i << " changed its tokens with the prefix cache";
    if (i > 0) {
      EXPECT_EQ(cached[i], expect_cached) << "request " << i;
    }
  }
}

}  // namespace cpplm::test
