// `cpplm bench --concurrency`: many requests at once through the server's scheduler, in process
// (no HTTP), with the figures serving is judged by: generated tokens/s, time to first token, time
// per output token, K/V in use, and the decode step's roofline.
#include <algorithm>
#include <chrono>
#include <thread>

#include "api/loaded_model.h"
#include "server/scheduler.h"

namespace cpplm::tools {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

class Bench final : public ConcurrencyBench {
 public:
  Bench(LoadedModel l, const BenchSpec& spec) : spec_(spec) {
    spec_.progress = nullptr;  // the loader's; the caller's callback need not outlive it
    served_.model = std::move(l.lm);
  }
  server::ServedModel& served() { return served_; }

  ConcurrencyResult run(int n, int n_prompt, int n_gen, double bw_gbs) override {
    if (n < 1 || n_prompt < 1 || n_gen < 1)
      throw Error("bench --concurrency: requests, prompt and generated tokens must be at least 1");
    server::Metrics metrics;
    server::SchedulerOptions o;
    o.max_concurrent = n;
    o.max_queue = n;
    o.ctx_size = n_prompt + n_gen;
    o.prefix_cache = false;  // every prompt is new
    o.kv_bits = spec_.kv_bits;
    o.kv_block_size = spec_.kv_block_size;
    if (spec_.prefill_chunk > 0) o.prefill_chunk = spec_.prefill_chunk;
    server::Scheduler sched(served_, o, metrics);
    const int vocab = served_.model->args().vocab_size;
    std::vector<std::shared_ptr<server::Job>> jobs;
    for (int r = 0; r < n; ++r) {
      auto j = std::make_shared<server::Job>();
      j->id = "bench-" + std::to_string(r);
      j->req.sampling = bench_sampling(spec_, 1000 + r);
      for (int t = 0; t < n_prompt; ++t) j->prompt.push_back((r * 7919 + t * 31 + 17) % (vocab - 1) + 1);
      j->max_tokens = n_gen;
      jobs.push_back(std::move(j));
    }
    const auto t0 = Clock::now();
    for (auto& j : jobs) j->arrived = t0, sched.submit(j);
    // Poll every job: its first token and end times, and the generated tokens over time.
    std::vector<double> first(n, -1), end(n, -1);
    std::vector<int> got(n, 0);
    long total = 0, at_all = 0, at_first_end = 0;
    double t_all = -1, t_first_end = -1;
    size_t kv_peak = 0;
    for (int left = n; left > 0;) {
      for (int r = 0; r < n; ++r) {
        if (end[r] >= 0) continue;
        for (const server::ChoiceEvent& e : jobs[r]->take(std::chrono::milliseconds(0))) {
          got[r] += static_cast<int>(e.tokens.size());
          total += static_cast<long>(e.tokens.size());
          if (first[r] < 0 && !e.tokens.empty()) first[r] = seconds(Clock::now() - t0);
        }
        if (jobs[r]->done()) {
          if (auto err = jobs[r]->error()) throw Error("bench --concurrency: a request failed: " + err->second);
          end[r] = seconds(Clock::now() - t0);
          --left;
        }
      }
      const double now = seconds(Clock::now() - t0);
      if (t_all < 0 && std::all_of(first.begin(), first.end(), [](double f) { return f >= 0; })) t_all = now, at_all = total;
      if (t_first_end < 0 && left < n) t_first_end = now, at_first_end = total;
      kv_peak = std::max(kv_peak, metrics.snapshot().kv_bytes);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    ConcurrencyResult res;
    res.requests = n;
    res.seconds = *std::max_element(end.begin(), end.end());
    res.generated_tps = static_cast<double>(total) / res.seconds;
    if (t_all >= 0 && t_first_end > t_all) res.decode_tps = static_cast<double>(at_first_end - at_all) / (t_first_end - t_all);
    std::vector<double> tpot;
    for (int r = 0; r < n; ++r)
      if (got[r] > 1) tpot.push_back((end[r] - first[r]) / (got[r] - 1));
    res.ttft_p50 = percentile(first, 0.5), res.ttft_p99 = percentile(first, 0.99);
    res.tpot_p50 = percentile(tpot, 0.5), res.tpot_p99 = percentile(tpot, 0.99);
    res.kv_peak_bytes = kv_peak;
    res.kv_budget_bytes = sched.options().kv_memory;
    res.step_bytes =
        weight_bytes + static_cast<double>(n) * static_cast<double>(kv_bytes_per_position) * (n_prompt + n_gen / 2.0);
    if (bw_gbs > 0) res.roofline_tps = n / (res.step_bytes / (bw_gbs * 1e9));
    sched.shutdown(std::chrono::milliseconds(0));
    return res;
  }

  SharedPrefixResult run_shared_prefix(int n, int prefix, int n_prompt, int n_gen, bool cache) override {
    if (n < 2 || prefix < 1 || n_prompt < 1 || n_gen < 1)
      throw Error("bench --shared-prefix: needs at least 2 requests, and prefix, prompt and generated tokens of at least 1");
    server::Metrics metrics;
    server::SchedulerOptions o;
    o.max_concurrent = n;
    o.max_queue = n;
    o.ctx_size = prefix + n_prompt + n_gen;
    o.prefix_cache = cache;
    o.kv_bits = spec_.kv_bits;
    o.kv_block_size = spec_.kv_block_size;
    if (spec_.prefill_chunk > 0) o.prefill_chunk = spec_.prefill_chunk;
    server::Scheduler sched(served_, o, metrics);
    const int vocab = served_.model->args().vocab_size;
    std::vector<std::shared_ptr<server::Job>> jobs;
    for (int r = 0; r < n + 4; ++r) {
      auto j = std::make_shared<server::Job>();
      j->req.sampling = bench_sampling(spec_, 1000 + r);
      for (int t = 0; t < prefix; ++t) j->prompt.push_back((t * 31 + 17) % (vocab - 1) + 1);
      for (int t = 0; t < n_prompt; ++t) j->prompt.push_back((r * 7919 + t * 131 + 5) % (vocab - 1) + 1);
      j->max_tokens = n_gen;
      jobs.push_back(std::move(j));
    }
    // Submits jobs [from, to) at once; returns each one's time to first token.
    auto wave = [&](int from, int to) {
      const auto t0 = Clock::now();
      for (int r = from; r < to; ++r) jobs[r]->arrived = t0, sched.submit(jobs[r]);
      std::vector<double> first(to - from, -1);
      std::vector<bool> ended(to - from, false);
      for (int left = to - from; left > 0;) {
        for (int r = from; r < to; ++r) {
          if (ended[r - from]) continue;
          for (const server::ChoiceEvent& e : jobs[r]->take(std::chrono::milliseconds(0)))
            if (first[r - from] < 0 && !e.tokens.empty()) first[r - from] = seconds(Clock::now() - t0);
          if (jobs[r]->done()) {
            if (auto err = jobs[r]->error()) throw Error("bench --shared-prefix: a request failed: " + err->second);
            ended[r - from] = true;
            --left;
          }
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      return first;
    };
    SharedPrefixResult res;
    res.ttft_first = wave(0, 1)[0];
    const std::vector<double> rest = wave(1, n);
    res.ttft_p50 = percentile(rest, 0.5), res.ttft_p99 = percentile(rest, 0.99);
    std::vector<double> one;
    for (int r = n; r < n + 4; ++r) one.push_back(wave(r, r + 1)[0]);
    res.ttft_one = percentile(one, 0.5);
    std::vector<double> cached;
    for (int r = 1; r < n; ++r) cached.push_back(jobs[r]->usage().cached_tokens);
    res.cached_tokens = static_cast<int>(percentile(cached, 0.5));
    sched.shutdown(std::chrono::milliseconds(0));
    return res;
  }

 private:
  server::ServedModel served_;
  BenchSpec spec_;  // K/V storage, pool blocks and sampling of every run
};

}  // namespace

std::unique_ptr<ConcurrencyBench> ConcurrencyBench::load(const BenchSpec& spec) {
  LoadedModel l = load_model(spec);
  const double wb = decode_weight_bytes(l);
  const std::string name = l.name, backend = l.backend;
  auto b = std::make_unique<Bench>(std::move(l), spec);
  b->name = name;
  b->backend = backend;
  b->weight_bytes = wb;
  // No tokenizer: the scheduler streams token ids only. EOS is ignored (none stops a request).
  b->kv_bytes_per_position = b->served().model->make_sequence({std::nullopt, spec.kv_bits})->bytes_per_position();
  return b;
}

}  // namespace cpplm::tools
