// Matrix products with weights in llama.cpp's (ggml's) block formats: dequantize a row, then f32 dot products.
#pragma once
#include <cstddef>
#include <cstdint>

namespace cpplm::cpu {

// Bytes of one row of `k` elements of ggml type `type`; throws Error naming the type when it is not decoded by
// ggml_dequant.h or `k` is not a whole number of its blocks.
size_t ggml_row_bytes(uint32_t type, int64_t k);

// y[i*ldy + r] = Σ_c x[i*k + c]·W[r, c] for rows r in [m0, m1), tokens i < n, where W [m, k] is stored as rows of
// `row_bytes` bytes of ggml type `type`. One thread; callers split rows across threads. Each row is dequantized
// once into an f32 buffer (ggml's exact values) and dotted with every token, so a token's result does not depend
// on the others in the call.
void ggml_matmul(uint32_t type, const void* w, size_t row_bytes, int64_t k, const float* x, int n, int64_t m0, int64_t m1,
                 float* y, int64_t ldy);

// Row r of W as f32 into out [k] (embedding lookups).
void ggml_dequant_row(uint32_t type, const void* w, size_t row_bytes, int64_t k, int64_t r, float* out);

}  // namespace cpplm::cpu
