// The scheduler over the CPU's paged K/V pool: preemption when the pool runs out leaves every
// request's tokens as they are alone; the prefix cache shares blocks between requests, reports
// cached_tokens and changes no token; a 10,000-request soak with cancellations frees every block.
#include <algorithm>
#include <cstdlib>
#include <random>

#include "invariance_check.h"
#include "prefix_check.h"
#include "server_util.h"

namespace cpplm {
namespace {

size_t block_bytes(server::ServedModel& served, int block) {
  return served.model->make_sequence({})->bytes_per_position() * static_cast<size_t>(block);
}

// 32 sequences at once over a pool of `blocks` blocks of 16 positions, one compute thread.
server::SchedulerOptions small_pool(server::ServedModel& served, int ctx, int chunk, int blocks) {
  server::SchedulerOptions o;
  o.max_concurrent = 32;
  o.ctx_size = ctx;
  o.prefill_chunk = chunk;
  o.threads = 1;
  o.kv_block_size = 16;
  o.kv_memory = static_cast<size_t>(blocks) * block_bytes(served, 16);
  return o;
}

TEST(PagedServer, PreemptedRequestsGetTheirTokensFromRunningAlone) {
  auto served = test::bundled_served();
  const server::SchedulerOptions o = small_pool(*served, 1024, 64, 20);  // 320 positions for sequences of up to 232
  test::check_invariance(*served, o, 48, 200, /*max_delay_ms=*/0);  // all at once: the pool runs out (timing decides how often)
}

TEST(PagedServer, APreemptedRequestReplaysItsTokens) {
  auto served = test::bundled_served();
  test::check_preemption_replay(*served);
}

TEST(PagedServer, PrefixCacheSharesBlocksAndChangesNoToken) {
  auto served = test::bundled_served();
  server::SchedulerOptions o;
  o.threads = 1;
  test::check_prefix_cache(*served, o);
}

// CPPLM_SOAK_REQUESTS lowers the count for the sanitizer build, where 10,000 requests take ten
// minutes; the release suite always runs all of them.
int soak_requests() {
  const char* env = std::getenv("CPPLM_SOAK_REQUESTS");
  const int n = env ? std::atoi(env) : 0;
  return n > 0 ? std::min(n, 10000) : 10000;
}

TEST(PagedServer, SoakOfTenThousandRequestsFreesEveryBlock) {
  auto served = test::bundled_served();
  server::SchedulerOptions o = small_pool(*served, 256, 32, 12);  // preempts often
  const int requests = soak_requests();
  o.max_queue = requests;
  server::Metrics metrics;
  const KVPool* pool = nullptr;
  std::mt19937 rng(11);
  std::vector<std::vector<int32_t>> prefixes(6);
  for (auto& p : prefixes)
    for (int i = 0, n = 8 + static_cast<int>(rng() % 24); i < n; ++i) p.push_back(static_cast<int32_t>(rng() % 2000));
  int cancelled = 0, finished = 0;
  {
    server::Scheduler s(*served, o, metrics);
    pool = s.kv_pool();
    ASSERT_NE(pool, nullptr);
    std::vector<std::shared_ptr<server::Job>> jobs;
    for (int i = 0; i < requests; ++i) {
      auto job = std::make_shared<server::Job>();
      job->req.n = 1 + (i % 50 == 0);
      job->req.sampling.temp = i % 2 ? 0.9f : 0.0f;
      job->seed = static_cast<uint64_t>(i);
      job->prompt = prefixes[rng() % prefixes.size()];
      for (int t = 0, n = 1 + static_cast<int>(rng() % 8); t < n; ++t) job->prompt.push_back(static_cast<int32_t>(rng() % 2000));
      job->max_tokens = 1 + static_cast<int>(rng() % 4);
      s.submit(job);
      jobs.push_back(job);
      if (rng() % 10 == 0) jobs[rng() % jobs.size()]->cancel();  // some before they start, some while they run
    }
    for (auto& j : jobs) {
      while (!j->done()) j->take(std::chrono::milliseconds(20));
      (j->cancelled() ? cancelled : finished)++;
    }
  }
  std::printf("[ soak ] %d requests: %d finished, %d cancelled, %llu preemptions\n", requests, finished, cancelled,
              static_cast<unsigned long long>(metrics.snapshot().preemptions));
  EXPECT_GT(metrics.snapshot().preemptions, 0u);
  pool->check();
  EXPECT_EQ(pool->held_blocks(), 0) << "blocks still held after every request ended";
  EXPECT_EQ(pool->free_blocks(), pool->total_blocks());
}

}  // namespace
}  // namespace cpplm
