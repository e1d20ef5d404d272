// Scalar reference kernels (portable C++; the compiler may vectorize them).
#include "backends/cpu/ref_kernels.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace cpplm::cpu {

void to_f32(const TensorView& t, int64_t start, int64_t n, float* out) {
  switch (t.dtype) {
    case DType::F32: std::memcpy(out, t.as<float>() + start, n * sizeof(float)); return;
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
    default: throw Error("to_f32: unsupported dtype " + std::string(dtype_name(t.dtype)));
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

namespace cpplm::cpu {

uint32_t quant_code(const MatRef& w, int64_t r, int64_t c) {
  const uint32_t* words = static_cast<const uint32_t*>(w.w) + r * (w.k * w.bits / 32);
  const int64_t bit = c * w.bits;
  const int64_t word = bit / 32;
  const int shift = static_cast<int>(bit % 32);
  uint64_t v = words[word] >> shift;
  if (shift + w.bits > 32) v |= static_cast<uint64_t>(words[word + 1]) << (32 - shift);  // value spans two words
  return static_cast<uint32_t>(v & ((1u << w.bits) - 1));
}

void dequant_ref(const MatRef& w, int64_t r, int64_t k0, int64_t cnt, float* out) {
  if (!w.quantized()) {
    TensorView t{w.w, w.dtype, {w.m, w.k}};
    to_f32(t, r * w.k + k0, cnt, out);
    return;
  }
  const int64_t groups = w.k / w.group;
  for (int64_t c = k0; c < k0 + cnt; ++c) {
    const int64_t g = r * groups + c / w.group;
    const float s = load_scalar(w.scales, w.sb_dtype, g), b = load_scalar(w.biases, w.sb_dtype, g);
    out[c - k0] = s * static_cast<float>(quant_code(w, r, c)) + b;
  }
}

void matmul_ref(const MatRef& w, const float* x, int n, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  thread_local std::vector<float> row;
  row.resize(w.k);
  for (int64_t r = m0; r < m1; ++r) {
    dequant_ref(w, r, 0, w.k, row.data());
    for (int i = 0; i < n; ++i) y[i * ldy + r] = dot_f32(x + static_cast<int64_t>(i) * w.k, row.data(), w.k);
  }
}

namespace {

void axpy_ref(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}
void scale_ref(float* y, float a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] *= a;
}

void dots_ref(const float* q, const float* const* rows, int cnt, int d, float scale, float* out) {
  for (int j = 0; j < cnt; ++j) out[j] = dot_f32(q, rows[j], d) * scale;
}
void axpys_ref(const float* w, const float* const* rows, int cnt, int d, float* acc) {
  for (int j = 0; j < cnt; ++j) axpy_ref(w[j], rows[j], acc, d);
}
void silu_mul_ref(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}
float exp_sum_ref(float* s, int n, float m) {
  float sum = 0;
  for (int j = 0; j < n; ++j) sum += (s[j] = std::exp(s[j] - m));
  return sum;
}

}  // namespace

const Kernels& kernels_scalar() {
  static const Kernels k{
      matmul_scalar, prepare_int8_ref, matmul_int8_prepared_ref, dequant_ref, dot_f32, axpy_ref, scale_ref, dots_ref, axpys_ref,
      exp_sum_ref,   silu_mul_ref};
  return k;
}

const Kernels& kernels(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return kernels_avx512();
    case Isa::Avx2: return kernels_avx2();
    case Isa::Scalar: break;
  }
  return kernels_scalar();
}

const Kernels& kernels() { return kernels(active_isa()); }

}  // namespace cpplm::cpu
