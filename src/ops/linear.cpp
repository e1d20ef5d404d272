// Linear and embedding dispatch: checks shapes once, then runs the CPU kernel over threads.
#include "ops/linear.h"

#include <omp.h>

#include <vector>

#include "backends/cpu/ref_kernels.h"
#include "core/error.h"

namespace cpplm {

void linear(const Linear& l, const float* x, int n, float* y) {
  const int64_t m = l.out_features(), k = l.in_features();
  CPPLM_CHECK(l.weight.shape.size() == 2, "linear weight must be 2-D");
#pragma omp parallel
  {
    std::vector<float> scratch(k);
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    // Contiguous row blocks per thread: each weight row is read by one thread, once.
    const int64_t chunk = (m + nt - 1) / nt;
    const int64_t m0 = std::min<int64_t>(m, t * chunk), m1 = std::min<int64_t>(m, m0 + chunk);
    cpu::matmul_rows_ref(x, n, l.weight, m0, m1, y, scratch.data());
    if (!l.bias.empty()) {
      std::vector<float> b(m1 - m0);
      if (m1 > m0) cpu::to_f32(l.bias, m0, m1 - m0, b.data());
      for (int i = 0; i < n; ++i)
        for (int64_t r = m0; r < m1; ++r) y[i * m + r] += b[r - m0];
    }
  }
}

void embedding(const TensorView& table, const int32_t* ids, int n, float* out) {
  const int64_t vocab = table.dim(0), dim = table.dim(1);
  for (int i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= vocab)
      throw Error("token id " + std::to_string(ids[i]) + " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    cpu::to_f32(table, static_cast<int64_t>(ids[i]) * dim, dim, out + static_cast<int64_t>(i) * dim);
  }
}

}  // namespace cpplm
