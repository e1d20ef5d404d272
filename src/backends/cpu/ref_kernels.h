// Scalar reference kernels: obviously right, the oracle every fast kernel is tested against.
#pragma once
#include <cstdint>

#include "backends/cpu/kernels.h"
#include "core/tensor.h"

namespace cpplm::cpu {

// Converts `n` elements of a float tensor (F32/F16/BF16) starting at element `start` to f32.
void to_f32(const TensorView& t, int64_t start, int64_t n, float* out);

// y [n, m] = x [n, k] · W[m, k]ᵀ for rows [m0, m1) of W (any float dtype); scratch holds k floats.
void matmul_rows_ref(const float* x, int n, const TensorView& w, int64_t m0, int64_t m1, float* y, float* scratch);

float dot_f32(const float* a, const float* b, int64_t k);

// W[r, k0 .. k0+cnt) as f32 for any MatRef (float or quantized with any bits 1..8).
void dequant_ref(const MatRef& w, int64_t r, int64_t k0, int64_t cnt, float* out);
// Quantized code q of W[r, c] (0 .. 2^bits - 1).
uint32_t quant_code(const MatRef& w, int64_t r, int64_t c);
// The reference for Kernels::matmul: dequantize each row, then f32 dot products.
void matmul_ref(const MatRef& w, const float* x, int n, int64_t m0, int64_t m1, float* y, int64_t ldy);

// One token's int8 activations for the int8 prefill path (kernels.h): per block b of `ab` columns
// d[b] = max|x| / 127 and q[c] = round(x[c] / d[b]) (x·(127 / max|x|), nearest-even); xs[g] = Σx of group g.
void quantize_act_ref(const float* x, int64_t k, int ab, int group, int8_t* q, float* d, float* xs);
// The int8 prefill and decode paths in scalar code (integer dot products per block); the oracle for the SIMD ones.
void matmul_int8_ref(const MatRef& w, const float* x, int n, int64_t m0, int64_t m1, float* y, int64_t ldy);
// The scalar table's matmul: matmul_int8_ref where int8_acts(w, n), else matmul_ref.
void matmul_scalar(const MatRef& w, const float* x, int n, int64_t m0, int64_t m1, float* y, int64_t ldy);
// The scalar table's prepare_int8 (keeps x and n) and matmul_int8 (matmul_int8_ref on them).
void prepare_int8_ref(const MatRef& w, const float* x, int n, Int8Acts& a);
void matmul_int8_prepared_ref(const MatRef& w, const Int8Acts& a, int64_t m0, int64_t m1, float* y, int64_t ldy);

}  // namespace cpplm::cpu
