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

}  // namespace cpplm::cpu
