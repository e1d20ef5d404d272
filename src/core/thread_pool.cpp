// The compute thread pool (thread_pool.h).
//
// A loop is posted as a job in one of two slots; `next_` packs the job's generation (high 32 bits)
// and its next chunk (low 32 bits), so a worker takes a chunk with one compare-and-swap that fails
// if the job has changed. A job's slot is rewritten only two jobs later, and a job ends only when
// all its chunks are done, so a worker holding a chunk of it reads a live slot. Idle workers spin
// for a short while, then sleep on a futex (std::atomic::wait).
#include "core/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cpplm {
namespace {

using Clock = std::chrono::steady_clock;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// How long an idle worker spins before sleeping, and how long the pool runs on fewer threads
// after stragglers made the caller wait.
constexpr auto kSpin = std::chrono::microseconds(100);
constexpr auto kStallFloor = std::chrono::microseconds(200);
// Stalls are counted over windows of kWindow; the pool backs off when they took kStallShare of one.
// A process competing for the CPUs preempts workers on nearly every loop (well over half the time
// lost), while a virtual machine's host takes a CPU away now and then for a few milliseconds (a
// few percent): backing off on every single stall ran decode on one thread for most of the time
// on such a machine.
constexpr auto kWindow = std::chrono::milliseconds(100);
constexpr double kStallShare = 0.2;
// A stall soon after a back-off ended doubles the next one (up to kMaxBackoff): on a machine that
// stays busy, probing with all threads costs a stall per back-off period.
constexpr auto kBackoff = std::chrono::milliseconds(50), kMaxBackoff = std::chrono::milliseconds(1600);

int env_threads(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return (*end == '\0' && n > 0 && n <= 4096) ? static_cast<int>(n) : 0;
}

// CPUs this process may use: its affinity mask, bounded by a cgroup v2 CPU quota.
int available_cpus() {
  int n = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) n = CPU_COUNT(&set);
  std::ifstream f("/sys/fs/cgroup/cpu.max");
  std::string quota;
  long period = 0;
  if (f >> quota >> period && quota != "max" && period > 0) {
    const long q = std::strtol(quota.c_str(), nullptr, 10);
    if (q > 0) n = std::min<int>(n, static_cast<int>(std::max(1L, (q + period - 1) / period)));
  }
  return std::max(1, n);
}

int default_threads() {
  if (int n = env_threads("CPPLM_THREADS")) return n;
  if (int n = env_threads("OMP_NUM_THREADS")) return n;
  return available_cpus();
}

struct Slot {
  std::atomic<detail::RangeFn> fn{nullptr};
  std::atomic<void*> ctx{nullptr};
  std::atomic<int64_t> n{0}, chunk{1};
  std::atomic<uint32_t> nchunks{0};
  std::atomic<int> active{1};  // threads taking part: the caller and workers 0 .. active-2
  std::atomic<int64_t> remaining{0};
  std::atomic<bool> failed{false};  // a chunk threw: `error` holds the first exception
  std::exception_ptr error;
};

class Pool {
 public:
  static Pool& get() {
    static Pool* pool = new Pool;  // never destroyed: workers may outlive static destructors
    return *pool;
  }
  int threads() const { return threads_.load(std::memory_order_relaxed); }
  void set_threads(int n) {
    if (n <= 0) return;
    std::lock_guard<std::mutex> lock(config_);
    threads_.store(n, std::memory_order_relaxed);
  }
  void run(int64_t n, int64_t chunk, detail::RangeFn fn, void* ctx);

 private:
  Pool() : threads_(default_threads()) {}
  void start_workers(int count);
  void worker_loop(int id);
  // Takes and runs chunks of job `gen` (0: whichever job is current) until none is left.
  void take_chunks(uint32_t gen, int id);

  std::mutex config_;
  std::atomic<int> threads_;
  std::vector<std::thread> workers_;
  std::atomic<bool> busy_{false};
  std::atomic<uint64_t> next_{0};
  Slot slots_[2];
  uint32_t gen_ = 0;
  std::atomic<uint32_t> epoch_{0};
  std::atomic<int> sleepers_{0};
  int reduced_ = 0;  // threads while backing off, 0 when not
  Clock::time_point backoff_until_{};
  Clock::duration backoff_ = kBackoff;  // length of the next back-off
  Clock::time_point window_start_{};    // stall accounting (kWindow)
  Clock::duration lost_{};              // stalled time within the window
};

void Pool::start_workers(int count) {
  std::lock_guard<std::mutex> lock(config_);
  while (static_cast<int>(workers_.size()) < count) {
    const int id = static_cast<int>(workers_.size());
    workers_.emplace_back([this, id] { worker_loop(id); });
    workers_.back().detach();
  }
}

void Pool::take_chunks(uint32_t gen, int id) {
  for (;;) {
    uint64_t v = next_.load(std::memory_order_acquire);
    const uint32_t g = static_cast<uint32_t>(v >> 32), idx = static_cast<uint32_t>(v);
    if (gen != 0 && g != gen) return;
    Slot& s = slots_[g & 1];
    if (idx >= s.nchunks.load(std::memory_order_relaxed) || id + 2 > s.active.load(std::memory_order_relaxed)) return;
    const detail::RangeFn fn = s.fn.load(std::memory_order_relaxed);
    void* ctx = s.ctx.load(std::memory_order_relaxed);
    const int64_t n = s.n.load(std::memory_order_relaxed), chunk = s.chunk.load(std::memory_order_relaxed);
    if (!next_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) continue;
    const int64_t b = static_cast<int64_t>(idx) * chunk;
    try {
      fn(ctx, b, std::min(n, b + chunk));
    } catch (...) {  // kept for the caller, which rethrows it once every chunk is done
      if (!s.failed.exchange(true)) s.error = std::current_exception();
    }
    s.remaining.fetch_sub(1, std::memory_order_release);
  }
}

void Pool::worker_loop(int id) {
  uint32_t seen = epoch_.load(std::memory_order_acquire);
  for (;;) {
    const auto t0 = Clock::now();
    for (int spins = 0; epoch_.load(std::memory_order_acquire) == seen; ++spins) {
      if ((spins & 63) != 63 || Clock::now() - t0 < kSpin) {
        cpu_relax();
        continue;
      }
      sleepers_.fetch_add(1);
      epoch_.wait(seen);
      sleepers_.fetch_sub(1);
    }
    seen = epoch_.load(std::memory_order_acquire);
    take_chunks(0, id);
  }
}

void Pool::run(int64_t n, int64_t chunk, detail::RangeFn fn, void* ctx) {
  int64_t nchunks = (n + chunk - 1) / chunk;
  if (nchunks > (int64_t{1} << 30)) {
    chunk = (n + (int64_t{1} << 30) - 1) >> 30;
    nchunks = (n + chunk - 1) / chunk;
  }
  auto alone = [&] {  // every chunk runs, as on the pool; the first exception is rethrown
    std::exception_ptr first;
    for (int64_t b = 0; b < n; b += chunk) {
      try {
        fn(ctx, b, std::min(n, b + chunk));
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
  };
  int threads = static_cast<int>(std::min<int64_t>(threads_.load(std::memory_order_relaxed), nchunks));
  if (threads <= 1 || busy_.exchange(true, std::memory_order_acquire)) return alone();
  if (reduced_ > 0) {  // backing off (below), read while holding busy_
    if (Clock::now() < backoff_until_) {
      threads = std::min(threads, reduced_);
    } else {  // all threads again, with a fresh window
      reduced_ = 0;
      window_start_ = Clock::now();
      lost_ = Clock::duration::zero();
    }
    if (threads <= 1) {
      busy_.store(false, std::memory_order_release);  // (the loop may throw)
      return alone();
    }
  }
  if (static_cast<int>(workers_.size()) < threads - 1) start_workers(threads - 1);
  if (++gen_ == 0) ++gen_;  // generation 0 means "any" to take_chunks
  Slot& s = slots_[gen_ & 1];
  s.fn.store(fn, std::memory_order_relaxed);
  s.ctx.store(ctx, std::memory_order_relaxed);
  s.n.store(n, std::memory_order_relaxed);
  s.chunk.store(chunk, std::memory_order_relaxed);
  s.nchunks.store(static_cast<uint32_t>(nchunks), std::memory_order_relaxed);
  s.active.store(threads, std::memory_order_relaxed);
  s.remaining.store(nchunks, std::memory_order_relaxed);
  s.failed.store(false, std::memory_order_relaxed);
  s.error = nullptr;
  next_.store(static_cast<uint64_t>(gen_) << 32, std::memory_order_release);
  epoch_.fetch_add(1);
  if (sleepers_.load() > 0) epoch_.notify_all();

  const auto t0 = Clock::now();
  take_chunks(gen_, -1);
  const auto t1 = Clock::now();
  for (int spins = 0; s.remaining.load(std::memory_order_acquire) > 0; ++spins) {
    if (spins < 4096) cpu_relax();
    else std::this_thread::yield();  // a preempted worker may be waiting for this core
  }
  const auto now = Clock::now();
  const auto waited = now - t1;
  // Waiting longer than the caller's own share took means a worker lost its CPU mid-chunk. When
  // such stalls take a large share of a window, use half the threads for a while (on two CPUs,
  // the caller alone), then all of them again.
  if (waited > kStallFloor && waited > t1 - t0) lost_ += waited - (t1 - t0);
  if (now - window_start_ >= kWindow) {
    if (lost_ > kStallShare * (now - window_start_)) {
      backoff_ = now - backoff_until_ < 2 * backoff_ + kWindow ? std::min<Clock::duration>(2 * backoff_, kMaxBackoff) : kBackoff;
      reduced_ = std::max(1, threads / 2);
      backoff_until_ = now + backoff_;
    }
    window_start_ = now;
    lost_ = Clock::duration::zero();
  }
  const std::exception_ptr error = s.failed.load(std::memory_order_acquire) ? s.error : nullptr;
  busy_.store(false, std::memory_order_release);
  if (error) std::rethrow_exception(error);
}

}  // namespace

int pool_threads() { return Pool::get().threads(); }
void set_pool_threads(int n) { Pool::get().set_threads(n); }

namespace detail {
void parallel_run(int64_t n, int64_t chunk, RangeFn fn, void* ctx) { Pool::get().run(n, chunk, fn, ctx); }
}  // namespace detail

int64_t chunk_for(int64_t n, int per_thread, int64_t align) {
  const int64_t parts = std::max<int64_t>(1, static_cast<int64_t>(pool_threads()) * per_thread);
  const int64_t c = (n + parts - 1) / parts;
  return std::max<int64_t>(align, (c + align - 1) / align * align);
}

}  // namespace cpplm
