// Scalar reference of the int8-activation paths for 4/8-bit weights (kernels.h: int8_prefill, int8_decode).
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/ref_kernels.h"

namespace cpplm::cpu {

void quantize_act_ref(const float* x, int64_t k, int ab, int group, int8_t* q, float* d, float* xs) {
  for (int64_t b0 = 0; b0 < k; b0 += ab) {
    float amax = 0;
    for (int64_t c = b0; c < b0 + ab; ++c) amax = std::max(amax, std::fabs(x[c]));
    // The SIMD kernels compute the same expressions, so codes and scales are bit-identical.
    const float id = amax > 0 ? 127.0f / amax : 0.0f;
    d[b0 / ab] = amax / 127.0f;
    for (int64_t c = b0; c < b0 + ab; ++c) q[c] = static_cast<int8_t>(std::nearbyint(x[c] * id));
  }
  for (int64_t g = 0; g < k / group; ++g) {
    float s = 0;
    for (int64_t c = g * group; c < (g + 1) * group; ++c) s += x[c];
    xs[g] = s;
  }
}

void matmul_int8_ref(const MatRef& w, const float* x, int n, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  const int64_t k = w.k, groups = k / w.group;
  const int ab = kActBlock;
  std::vector<int8_t> q(k);
  std::vector<float> d(k / ab), xs(groups);
  std::vector<int32_t> codes(k);
  for (int i = 0; i < n; ++i) {
    quantize_act_ref(x + static_cast<int64_t>(i) * k, k, ab, w.group, q.data(), d.data(), xs.data());
    for (int64_t r = m0; r < m1; ++r) {
      for (int64_t c = 0; c < k; ++c) codes[c] = static_cast<int32_t>(quant_code(w, r, c));
      float tot = 0;
      for (int64_t b = 0; b < k / ab; ++b) {
        int32_t isum = 0;
        for (int64_t c = b * ab; c < (b + 1) * ab; ++c) isum += codes[c] * q[c];
        const float s = load_scalar(w.scales, w.sb_dtype, r * groups + b * ab / w.group);
        tot += static_cast<float>(isum) * (s * d[b]);
        if (((b + 1) * ab) % w.group == 0) {
          const int64_t g = ((b + 1) * ab) / w.group - 1;
          tot += load_scalar(w.biases, w.sb_dtype, r * groups + g) * xs[g];
        }
      }
      y[i * ldy + r] = tot;
    }
  }
}

void matmul_scalar(const MatRef& w, const float* x, int n, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  if (int8_acts(w, n)) return matmul_int8_ref(w, x, n, m0, m1, y, ldy);
  matmul_ref(w, x, n, m0, m1, y, ldy);
}

// The scalar table's two-step int8 decode keeps x and runs the reference on it.
void prepare_int8_ref(const MatRef&, const float* x, int n, Int8Acts& a) { a.x = x, a.n = n; }
void matmul_int8_prepared_ref(const MatRef& w, const Int8Acts& a, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  matmul_int8_ref(w, a.x, a.n, m0, m1, y, ldy);
}

}  // namespace cpplm::cpu
