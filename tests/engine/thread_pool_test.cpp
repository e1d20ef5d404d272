// The compute thread pool: every item once, nested and concurrent loops, thread counts.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/thread_pool.h"

namespace cpplm {
namespace {

struct ThreadCount {  // restores the pool's count after a test
  int saved = pool_threads();
  ~ThreadCount() { set_pool_threads(saved); }
};

TEST(ThreadPool, EveryItemOnceForManyShapes) {
  ThreadCount keep;
  for (int threads : {1, 2, 3, 8}) {
    set_pool_threads(threads);
    for (int64_t n : {1, 2, 15, 16, 17, 1000, 4097}) {
      for (int64_t chunk : {1, 3, 16, 5000}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        parallel_for(n, chunk, [&](int64_t b, int64_t e) {
          ASSERT_LT(b, e);
          ASSERT_LE(e - b, chunk);
          for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << threads << " " << n << " " << chunk;
      }
    }
  }
}

TEST(ThreadPool, ManySmallLoopsInARow) {  // workers racing from one job to the next
  ThreadCount keep;
  set_pool_threads(4);
  std::atomic<int64_t> total{0};
  for (int rep = 0; rep < 20000; ++rep)
    parallel_for(8, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b, std::memory_order_relaxed); });
  EXPECT_EQ(total.load(), 8 * 20000);
}

TEST(ThreadPool, NestedLoopsRunInline) {
  ThreadCount keep;
  set_pool_threads(3);
  std::atomic<int64_t> total{0};
  parallel_for(6, 1, [&](int64_t, int64_t) {
    parallel_for(100, 7, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
  });
  EXPECT_EQ(total.load(), 600);
}

TEST(ThreadPool, ConcurrentCallersEachGetTheirWholeLoop) {
  ThreadCount keep;
  set_pool_threads(2);
  std::atomic<int64_t> a{0}, b{0};
  std::thread other([&] {
    for (int rep = 0; rep < 2000; ++rep) parallel_for(64, 4, [&](int64_t s, int64_t e) { a.fetch_add(e - s); });
  });
  for (int rep = 0; rep < 2000; ++rep) parallel_for(64, 4, [&](int64_t s, int64_t e) { b.fetch_add(e - s); });
  other.join();
  EXPECT_EQ(a.load(), 64 * 2000);
  EXPECT_EQ(b.load(), 64 * 2000);
}

TEST(ThreadPool, CountsAndChunks) {
  ThreadCount keep;
  set_pool_threads(4);
  EXPECT_EQ(pool_threads(), 4);
  set_pool_threads(0);  // ignored
  EXPECT_EQ(pool_threads(), 4);
  EXPECT_EQ(chunk_for(1000, 2, 16), 128);  // 8 parts of 125, rounded up to 16
  EXPECT_EQ(chunk_for(10, 8, 16), 16);
  EXPECT_EQ(chunk_for(0, 8, 1), 1);
  parallel_for(0, 1, [&](int64_t, int64_t) { FAIL(); });
}

TEST(ThreadPool, AThrowingChunkReachesTheCallerAfterTheOthersRan) {
  ThreadCount keep;
  set_pool_threads(2);
  for (int rep = 0; rep < 200; ++rep) {
    std::atomic<int64_t> done{0};
    EXPECT_THROW(parallel_for(64, 1,
                              [&](int64_t b, int64_t) {
                                if (b == 17) throw std::runtime_error("chunk 17");
                                done.fetch_add(1);
                              }),
                 std::runtime_error);
    EXPECT_EQ(done.load(), 63);
  }
  std::atomic<int64_t> total{0};  // the pool still works afterwards, on all its threads
  parallel_for(1000, 10, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
  EXPECT_EQ(total.load(), 1000);
}

}  // namespace
}  // namespace cpplm
