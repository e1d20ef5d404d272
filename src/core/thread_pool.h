// The compute thread pool: persistent workers that split a loop into chunks taken one at a time,
// so a worker the OS preempts holds back at most the chunk it is running; the calling thread takes
// chunks too. When a straggler keeps the caller waiting longer than its own share took (the
// machine is shared and a worker lost its core), the pool runs on fewer threads for a while (longer
// each time it stalls again right after) and then tries again: a busy machine costs about what
// one thread would, never a collapse.
#pragma once
#include <cstdint>
#include <type_traits>

namespace cpplm {

// Threads a parallel loop uses, the caller included. Starts as OMP_NUM_THREADS or CPPLM_THREADS
// when set, else the CPUs this process may run on.
int pool_threads();
// n >= 1 (n <= 0 leaves it as it is). Workers are started and stopped as needed.
void set_pool_threads(int n);

namespace detail {
using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end);
void parallel_run(int64_t n, int64_t chunk, RangeFn fn, void* ctx);
}  // namespace detail

// fn(begin, end) over [0, n) in chunks of `chunk` items (the last one shorter). Runs on the caller
// alone when there is one chunk, one thread, or the pool is already running a loop (a nested or
// concurrent call). If fn throws, the other chunks still run and the first exception is rethrown
// to the caller.
template <class F>
void parallel_for(int64_t n, int64_t chunk, F&& fn) {
  if (n <= 0) return;
  auto call = [](void* ctx, int64_t b, int64_t e) { (*static_cast<std::remove_reference_t<F>*>(ctx))(b, e); };
  detail::parallel_run(n, chunk < 1 ? 1 : chunk, call, const_cast<void*>(static_cast<const void*>(&fn)));
}

// Chunk size for n items split into about `per_thread` chunks per thread, a multiple of `align`.
int64_t chunk_for(int64_t n, int per_thread, int64_t align);

}  // namespace cpplm
