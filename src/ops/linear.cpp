// Linear and embedding dispatch: checks shapes once, then runs the CPU kernel over threads.
#include "ops/linear.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "backends/cpu/kernels.h"
#include "backends/cpu/ref_kernels.h"
#include "core/error.h"

namespace cpplm {
namespace {

cpu::MatRef mat_ref(const Linear& l) {
  cpu::MatRef w;
  w.w = l.weight.data;
  w.dtype = l.weight.dtype;
  w.m = l.out_features();
  w.k = l.in_features();
  if (l.quantized()) {
    w.bits = l.bits;
    w.group = l.group_size;
    w.scales = l.scales.data;
    w.biases = l.biases.data;
    w.sb_dtype = l.scales.dtype;
  }
  return w;
}

// Below this many multiply-adds a call runs on one thread (waking the others costs more).
constexpr int64_t kParallelMinWork = 1 << 16;

}  // namespace

void linear(const Linear& l, const float* x, int n, float* y) {
  CPPLM_CHECK(l.weight.shape.size() == 2, "linear weight must be 2-D");
  const cpu::MatRef w = mat_ref(l);
  const cpu::Kernels& kern = cpu::kernels();
  const int64_t m = w.m;
  const bool par = m * w.k * n >= kParallelMinWork;
#pragma omp parallel if (par)
  {
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    // Contiguous row blocks per thread (multiples of 16 rows): each weight row is read by one thread.
    const int64_t chunk = ((m + nt - 1) / nt + 15) / 16 * 16;
    const int64_t m0 = std::min<int64_t>(m, t * chunk), m1 = std::min<int64_t>(m, m0 + chunk);
    kern.matmul(w, x, n, m0, m1, y, m);
    if (!l.bias.empty() && m1 > m0) {
      thread_local std::vector<float> b;
      b.resize(m1 - m0);
      cpu::to_f32(l.bias, m0, m1 - m0, b.data());
      for (int i = 0; i < n; ++i)
        for (int64_t r = m0; r < m1; ++r) y[i * m + r] += b[r - m0];
    }
  }
}

// Below kInt8MinTokens rows every kernel streams weights row by row with per-row accumulators.
int linear_exact_rows() { return cpu::kInt8MinTokens - 1; }

void embedding(const Linear& table, const int32_t* ids, int n, float* out) {
  const cpu::MatRef w = mat_ref(table);
  const cpu::Kernels& kern = cpu::kernels();
  for (int i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= w.m)
      throw Error("token id " + std::to_string(ids[i]) + " is outside the vocabulary [0, " + std::to_string(w.m) + ")");
    kern.dequant(w, ids[i], 0, w.k, out + static_cast<int64_t>(i) * w.k);
  }
}

void embedding(const TensorView& table, const int32_t* ids, int n, float* out) {
  Linear l;
  l.weight = table;
  embedding(l, ids, n, out);
}

}  // namespace cpplm

namespace cpplm {

void dequantize(const Linear& l, float* out) {
  const cpu::MatRef w = mat_ref(l);
  const cpu::Kernels& kern = cpu::kernels();
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < w.m; ++r) kern.dequant(w, r, 0, w.k, out + r * w.k);
}

}  // namespace cpplm
