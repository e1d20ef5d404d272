// Scalar dequantization of llama.cpp's (ggml's) tensor types to f32, bit-exact with ggml's reference C code.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/ggml_types.h"

namespace cpplm::cpu {

// Elements and bytes of one block of `type` (1 element for the float types); false for a type not decoded here.
bool ggml_block_layout(uint32_t type, size_t* block_elems, size_t* block_bytes);

// Writes `n` consecutive elements of ggml type `type` read from `src` (`src_bytes` available) to `dst` as f32,
// with ggml's own operation order (dequantize_row_* in ggml-quants.c). Throws Error naming the type when the
// type is not decoded here, `n` is not a whole number of blocks, or `src_bytes` holds fewer than n elements.
void ggml_dequantize(uint32_t type, const void* src, size_t src_bytes, size_t n, float* dst);

// Types whose dequantized values are affine per group, y = scale·q + bias over unsigned codes q of `bits` bits
// (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1: groups of 32, 8 / 4 / 4 / 8 / 8 bits; Q4_K, Q5_K: 32, 4 / 8 bits; Q6_K: 16,
// 8 bits), so that a kernel for such codes (the GPU's mlx-format GEMV) can run them; false for the others.
bool ggml_affine_format(uint32_t type, int* bits, int* group);
// The scale and bias of each group of the n elements (whole blocks) at src, as ggml's dequantization forms
// them in f32: fma(scale, q, bias) equals ggml's value for every code q of the type.
void ggml_affine_params(uint32_t type, const void* src, size_t n, float* scales, float* biases);
// Q4_K and Q5_K: the scales of the n elements at src as 20-byte records per block of 256 (kKScaleRecord): the
// block's f16 d and dmin as stored, then its 8 groups' 6-bit (sc, m) as byte pairs, so that d·sc and -(dmin·m)
// in f32 are ggml_affine_params' values. False (out untouched) for other types.
constexpr size_t kKScaleRecord = 20;
bool ggml_kscale_records(uint32_t type, const void* src, size_t n, uint8_t* out);

}  // namespace cpplm::cpu
