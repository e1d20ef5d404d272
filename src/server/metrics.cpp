// Metrics in the Prometheus text exposition format.
#include "server/metrics.h"

#include <cstdio>

namespace cpplm::server {
namespace {

std::string num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

std::string header(const std::string& name, const std::string& help, const char* type) {
  return "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

std::string Histogram::text(const std::string& name, const std::string& help) const {
  std::string s = header(name, help, "histogram");
  uint64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    s += name + "_bucket{le=\"" + num(bounds_[i]) + "\"} " + std::to_string(cum) + "\n";
  }
  s += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  s += name + "_sum " + num(sum_) + "\n" + name + "_count " + std::to_string(count_) + "\n";
  return s;
}

Metrics::Metrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      token_latency_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}) {}

void Metrics::request_done(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[status];
}

void Metrics::tokens(int prompt, int generated, int cached) {
  std::lock_guard<std::mutex> lock(mu_);
  prompt_tokens_ += prompt;
  generated_tokens_ += generated;
  cached_tokens_ += cached;
}

void Metrics::ttft(double s) {
  std::lock_guard<std::mutex> lock(mu_);
  ttft_.observe(s);
}

void Metrics::token_latency(double s) {
  std::lock_guard<std::mutex> lock(mu_);
  token_latency_.observe(s);
}

void Metrics::gauges(int running, int queued, size_t kv_bytes, size_t cache_bytes, size_t kv_budget, size_t cached_sequences) {
  std::lock_guard<std::mutex> lock(mu_);
  cache_bytes_ = cache_bytes;
  running_ = running;
  queued_ = queued;
  kv_bytes_ = kv_bytes;
  kv_budget_ = kv_budget;
  cached_sequences_ = cached_sequences;
}

void Metrics::pool(int total_blocks, int free_blocks, int cached_blocks) {
  std::lock_guard<std::mutex> lock(mu_);
  pool_total_ = total_blocks;
  pool_free_ = free_blocks;
  pool_cached_ = cached_blocks;
}

void Metrics::preempted() {
  std::lock_guard<std::mutex> lock(mu_);
  ++preemptions_;
}

Metrics::Snapshot Metrics::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {running_, queued_, kv_bytes_, cache_bytes_, preemptions_};
}

std::string Metrics::text() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string s = header("cpplm_requests_total", "HTTP requests answered, by status code.", "counter");
  for (const auto& [status, n] : requests_)
    s += "cpplm_requests_total{status=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    s += header(name, help, "counter") + name + " " + std::to_string(v) + "\n";
  };
  auto gauge = [&](const char* name, const char* help, double v) { s += header(name, help, "gauge") + name + " " + num(v) + "\n"; };
  counter("cpplm_prompt_tokens_total", "Prompt tokens of finished requests.", prompt_tokens_);
  counter("cpplm_prompt_tokens_cached_total", "Prompt tokens whose K/V was reused from an earlier request.", cached_tokens_);
  counter("cpplm_generated_tokens_total", "Generated tokens of finished requests (all choices).", generated_tokens_);
  gauge("cpplm_requests_running", "Requests being prefilled or decoded.", running_);
  gauge("cpplm_requests_queued", "Requests waiting for a slot or K/V memory.", queued_);
  gauge("cpplm_kv_bytes_in_use", "K/V cache bytes of running sequences.", static_cast<double>(kv_bytes_));
  gauge("cpplm_prefix_cache_bytes", "K/V cache bytes of finished sequences kept for prefix reuse (within the budget).",
        static_cast<double>(cache_bytes_));
  gauge("cpplm_kv_bytes_budget", "K/V cache budget in bytes (--kv-memory).", static_cast<double>(kv_budget_));
  if (pool_total_ >= 0) {
    gauge("cpplm_kv_blocks_total", "Blocks of the paged K/V pool.", pool_total_);
    gauge("cpplm_kv_blocks_free", "Blocks of the K/V pool no sequence holds (evictable cached ones included).", pool_free_);
    gauge("cpplm_prefix_cache_blocks", "K/V blocks kept by the prefix cache (held by sequences or not).", pool_cached_);
    counter("cpplm_preemptions_total", "Sequences whose K/V was freed when the pool ran out, to be recomputed.", preemptions_);
  } else {
    gauge("cpplm_prefix_cache_sequences", "Finished sequences kept for prefix reuse.", static_cast<double>(cached_sequences_));
  }
  s += ttft_.text("cpplm_time_to_first_token_seconds", "Time from a request's arrival to its first token.");
  s += token_latency_.text("cpplm_time_per_output_token_seconds", "Time between consecutive tokens of a sequence.");
  return s;
}

}  // namespace cpplm::server
