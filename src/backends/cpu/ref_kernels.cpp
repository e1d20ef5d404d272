// Scalar reference kernels (portable C++; the compiler may vectorize them).
#include "backends/cpu/ref_kernels.h"

#include <cstring>

#include "core/error.h"

namespace cpplm::cpu {

void to_f32(const TensorView& t, int64_t start, int64_t n, float* out) {
  switch (t.dtype) {
    case DType::F32:
      std::memcpy(out, t.as<float>() + start, n * sizeof(float));
      return;
    case DType::BF16: {
      const uint16_t* p = t.as<uint16_t>() + start;
      for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(p[i]);
      return;
    }
    case DType::F16: {
      const uint16_t* p = t.as<uint16_t>() + start;
      for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(p[i]);
      return;
    }
    default:
      throw Error("to_f32: unsupported dtype " + std::string(dtype_name(t.dtype)));
  }
}

float dot_f32(const float* a, const float* b, int64_t k) {
  // Eight partial sums: fewer rounding steps in a row and vectorizable.
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= k; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += a[i + j] * b[i + j];
  float tail = 0;
  for (; i < k; ++i) tail += a[i] * b[i];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + tail;
}

void matmul_rows_ref(const float* x, int n, const TensorView& w, int64_t m0, int64_t m1, float* y, float* scratch) {
  const int64_t k = w.dim(1), m = w.dim(0);
  for (int64_t r = m0; r < m1; ++r) {
    const float* row = w.dtype == DType::F32 ? w.as<float>() + r * k : scratch;
    if (w.dtype != DType::F32) to_f32(w, r * k, k, scratch);
    for (int i = 0; i < n; ++i) y[static_cast<int64_t>(i) * m + r] = dot_f32(x + static_cast<int64_t>(i) * k, row, k);
  }
}

}  // namespace cpplm::cpu
