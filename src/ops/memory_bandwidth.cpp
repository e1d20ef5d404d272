// Read bandwidth: each thread sums a contiguous part of one buffer with the SIMD dot kernel.
#include "ops/memory_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "backends/cpu/kernels.h"
#include "core/tensor.h"
#include "core/thread_pool.h"

namespace cpplm {

double measure_read_bandwidth(size_t bytes, int reps) {
  const int64_t n = static_cast<int64_t>(bytes / sizeof(float));
  Buffer buf(static_cast<size_t>(n) * sizeof(float));
  float* p = buf.as<float>();
  const int64_t part = (n + pool_threads() - 1) / pool_threads();
  parallel_for(n, part, [&](int64_t a, int64_t b) { std::fill(p + a, p + b, 1.0f); });  // first touch by a reader
  const cpu::Kernels& kern = cpu::kernels();
  double best = 0, sink = 0;
  std::vector<double> sums(static_cast<size_t>(pool_threads()) + 1);
  for (int r = 0; r < reps + 1; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    // One part per thread; dot(x, x) is one stream from memory (both operands are the same lines).
    parallel_for(n, part, [&](int64_t a, int64_t b) {
      double t = 0;
      for (int64_t i = a; i < b; i += 1 << 20) t += kern.dot(p + i, p + i, std::min<int64_t>(1 << 20, b - i));
      sums[static_cast<size_t>(a / part)] = t;
    });
    double total = 0;
    for (double v : sums) total += v;
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sink += total;
    if (r > 0) best = std::max(best, static_cast<double>(bytes) / dt / 1e9);
  }
  return sink > 0 ? best : best;  // sink keeps the sums alive
}

}  // namespace cpplm
