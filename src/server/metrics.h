// The server's Prometheus metrics (GET /metrics): requests by status, tokens, running and queued
// requests, K/V memory, and latency histograms. Thread-safe.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace cpplm::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // Prometheus text of the histogram `name` (buckets, sum, count).
  std::string text(const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative), last = +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void request_done(int status);
  void tokens(int prompt, int generated, int cached);
  void ttft(double seconds);
  void token_latency(double seconds);  // time between two tokens of one sequence
  // Gauges, set by the scheduler each step.
  // kv_bytes_in_use: K/V of running sequences; cache_bytes: of finished ones kept for prefix reuse.
  void gauges(int running, int queued, size_t kv_bytes_in_use, size_t cache_bytes, size_t kv_bytes_budget,
              size_t cached_sequences);
  // A paged K/V pool (model/kv_pool.h): its blocks, those free (evictable cached ones included) and
  // those the prefix cache keeps; and sequences preempted because it ran out.
  void pool(int total_blocks, int free_blocks, int cached_blocks);
  void preempted();
  std::string text() const;

  struct Snapshot {
    int running = 0, queued = 0;
    size_t kv_bytes = 0, cache_bytes = 0;
    uint64_t preemptions = 0;
  };
  Snapshot snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<int, uint64_t> requests_;  // by HTTP status
  uint64_t prompt_tokens_ = 0, generated_tokens_ = 0, cached_tokens_ = 0;
  int running_ = 0, queued_ = 0;
  size_t kv_bytes_ = 0, cache_bytes_ = 0, kv_budget_ = 0, cached_sequences_ = 0;
  int pool_total_ = -1, pool_free_ = 0, pool_cached_ = 0;  // -1: no pool
  uint64_t preemptions_ = 0;
  Histogram ttft_, token_latency_;
};

}  // namespace cpplm::server
