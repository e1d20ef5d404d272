// Read bandwidth: each thread sums its contiguous part of one buffer with the SIMD dot kernel.
#include "ops/memory_bandwidth.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "backends/cpu/kernels.h"
#include "core/tensor.h"

namespace cpplm {

double measure_read_bandwidth(size_t bytes, int reps) {
  const int64_t n = static_cast<int64_t>(bytes / sizeof(float));
  Buffer buf(static_cast<size_t>(n) * sizeof(float));
  float* p = buf.as<float>();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) p[i] = 1.0f;  // first touch by the thread that reads it
  const cpu::Kernels& kern = cpu::kernels();
  double best = 0, sink = 0;
  for (int r = 0; r < reps + 1; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    double total = 0;
#pragma omp parallel reduction(+ : total)
    {
      const int nt = omp_get_num_threads(), t = omp_get_thread_num();
      const int64_t chunk = (n + nt - 1) / nt, a = std::min(n, t * chunk), b = std::min(n, a + chunk);
      // dot(x, x): one stream from memory (both operands are the same cache lines).
      for (int64_t i = a; i < b; i += 1 << 20) total += kern.dot(p + i, p + i, std::min<int64_t>(1 << 20, b - i));
    }
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sink += total;
    if (r > 0) best = std::max(best, static_cast<double>(bytes) / dt / 1e9);
  }
  return sink > 0 ? best : best;  // sink keeps the sums alive
}

}  // namespace cpplm
