// RMSNorm, SwiGLU, residual add and RoPE on f32 activations.
#include "ops/elementwise.h"

#include <cmath>
#include <vector>

#include "backends/cpu/kernels.h"
#include "backends/cpu/ref_kernels.h"
#include "core/thread_pool.h"

namespace cpplm {

void rms_norm(const float* x, int n, int dim, const TensorView& weight, float eps, float* y) {
  std::vector<float> w(dim);
  cpu::to_f32(weight, 0, dim, w.data());
  for (int i = 0; i < n; ++i) {
    const float* xi = x + static_cast<int64_t>(i) * dim;
    double ss = 0;  // double: the mean of squares is the one long reduction here
    for (int j = 0; j < dim; ++j) ss += static_cast<double>(xi[j]) * xi[j];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / dim + eps));
    float* yi = y + static_cast<int64_t>(i) * dim;
    for (int j = 0; j < dim; ++j) yi[j] = w[j] * (xi[j] * inv);
  }
}

void silu_mul(const float* gate, const float* up, int64_t count, float* out) {
  parallel_for(count, count >= (1 << 15) ? chunk_for(count, 2, 1024) : count,
               [&](int64_t i0, int64_t i1) { cpu::kernels().silu_mul(gate + i0, up + i0, i1 - i0, out + i0); });
}

void add_inplace(float* x, const float* y, int64_t count) {
  for (int64_t i = 0; i < count; ++i) x[i] += y[i];
}

void apply_rope(float* x, int n, int heads, int dims, const float* cos, const float* sin, bool traditional) {
  const int half = dims / 2;
  for (int t = 0; t < n; ++t) {
    const float* c = cos + static_cast<int64_t>(t) * half;
    const float* s = sin + static_cast<int64_t>(t) * half;
    for (int h = 0; h < heads; ++h) {
      float* v = x + (static_cast<int64_t>(t) * heads + h) * dims;
      for (int i = 0; i < half; ++i) {
        const int a = traditional ? 2 * i : i, b = traditional ? 2 * i + 1 : i + half;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * c[i] - x1 * s[i];
        v[b] = x1 * c[i] + x0 * s[i];
      }
    }
  }
}

}  // namespace cpplm
