// ggml's tensor types (llama.cpp's numbering) and their block layouts: shared by the GGUF reader
// (io) and the CPU kernels for those blocks (backends/cpu).
#pragma once
#include <cstdint>

namespace cpplm {

// ggml's tensor types with llama.cpp's numbering (ggml.h `enum ggml_type`); gaps are types removed from GGUF.
enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
};

// Elements per block and bytes per block of one type (ggml's type_traits); nullptr for a number this reader does not know.
struct GgmlTypeInfo {
  const char* name;
  uint32_t block_size;
  uint32_t block_bytes;
};
const GgmlTypeInfo* ggml_type_info(uint32_t type);
const char* ggml_type_name(GgmlType type);

}  // namespace cpplm
