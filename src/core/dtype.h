// Element types of stored tensors and the f16/bf16 <-> f32 conversions.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace cpplm {

enum class DType : uint8_t { F32, F16, BF16, F64, I8, U8, I16, U16, I32, U32, I64, U64, Bool };

// Bytes per element.
size_t dtype_size(DType t);
// safetensors spelling ("F32", "BF16", ...).
std::string_view dtype_name(DType t);
// Parses a safetensors dtype string; false when unknown.
bool parse_dtype(std::string_view s, DType* out);

inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Round to nearest even, NaN kept a (quiet) NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

// How a K/V cache stores its rows: floats, or mlx-style 8-bit affine codes (row = scale·q + bias
// per group of elements, f32 scales and biases; mlx-lm QuantizedKVCache with bits 8).
enum class KVType : uint8_t { F32, BF16, F16, Q8 };
const char* kv_type_name(KVType t);  // "f32", "bf16", "f16", "q8"

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

}  // namespace cpplm
