// Scalar dequantization of llama.cpp's (ggml's) tensor types to f32, bit-exact with ggml's reference C code.
#pragma once
#include <cstddef>
#include <cstdint>

namespace cpplm::cpu {

// The ggml types this file decodes, numbered as llama.cpp's `enum ggml_type` (ggml.h), so a GGUF
// tensor's type number converts with a cast. The backend keeps its own enum: it may not include io.
enum class GgmlQuant : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  IQ4_NL = 20,
  IQ4_XS = 23,
  BF16 = 30,
};

// Elements and bytes of one block of `type` (1 element for the float types); false for a type not decoded here.
bool ggml_block_layout(uint32_t type, size_t* block_elems, size_t* block_bytes);

// Writes `n` consecutive elements of ggml type `type` read from `src` (`src_bytes` available) to `dst` as f32,
// with ggml's own operation order (dequantize_row_* in ggml-quants.c). Throws Error naming the type when the
// type is not decoded here, `n` is not a whole number of blocks, or `src_bytes` holds fewer than n elements.
void ggml_dequantize(uint32_t type, const void* src, size_t src_bytes, size_t n, float* dst);

}  // namespace cpplm::cpu
