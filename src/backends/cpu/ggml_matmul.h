// Matrix products with weights in llama.cpp's (ggml's) block formats: integer dot products with activations
// quantized as llama.cpp quantizes them (ggml_qdot.h), or dequantize-then-f32 under exact_quant().
#pragma once
#include <cstddef>
#include <cstdint>

#include "backends/cpu/ggml_qdot.h"

namespace cpplm::cpu {

// Bytes of one row of `k` elements of ggml type `type`; throws Error naming the type when it is not decoded by
// ggml_dequant.h or `k` is not a whole number of its blocks.
size_t ggml_row_bytes(uint32_t type, int64_t k);

// The activations x [n, k] quantized for weights of `type` (llama.cpp's q8_0 / q8_1 / q8_K), in storage owned
// by the calling thread and valid until its next call; nullptr under exact_quant(). Quantize once per product and
// hand the result to every row block's ggml_matmul.
const GgmlActs* ggml_prepare_acts(uint32_t type, const float* x, int n, int64_t k);

// y[i*ldy + r] = Σ_c x[i*k + c]·W[r, c] for rows r in [m0, m1), tokens i < n, where W [m, k] is stored as rows of
// `row_bytes` bytes of ggml type `type`. One thread; callers split rows across threads. As llama.cpp computes it:
// the dot products of ggml_qdot.h with `acts` (x quantized by ggml_prepare_acts; quantized here when null) on the
// active instruction set. Under exact_quant(): each row dequantized (ggml's exact values) and dotted with x in f32.
// Either way a token's result does not depend on the other tokens of the call or on [m0, m1).
void ggml_matmul(uint32_t type, const void* w, size_t row_bytes, int64_t k, const float* x, int n, int64_t m0, int64_t m1,
                 float* y, int64_t ldy, const GgmlActs* acts = nullptr);

// Row r of W as f32 into out [k] (embedding lookups).
void ggml_dequant_row(uint32_t type, const void* w, size_t row_bytes, int64_t k, int64_t r, float* out);

}  // namespace cpplm::cpu
