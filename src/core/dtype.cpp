// DType names, sizes and IEEE half-precision conversions (portable; F16C is used by SIMD kernels).
#include "core/dtype.h"

namespace cpplm {
namespace {
struct Info {
  DType t;
  std::string_view name;
  size_t size;
};
constexpr Info kInfo[] = {
    {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2}, {DType::F64, "F64", 8}, {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},   {DType::I16, "I16", 2}, {DType::U16, "U16", 2},   {DType::I32, "I32", 4}, {DType::U32, "U32", 4},
    {DType::I64, "I64", 8}, {DType::U64, "U64", 8}, {DType::Bool, "BOOL", 1},
};
}  // namespace

const char* kv_type_name(KVType t) {
  switch (t) {
    case KVType::BF16: return "bf16";
    case KVType::F16: return "f16";
    case KVType::Q8: return "q8";
    default: return "f32";
  }
}

size_t dtype_size(DType t) { return kInfo[static_cast<int>(t)].size; }
std::string_view dtype_name(DType t) { return kInfo[static_cast<int>(t)].name; }

bool parse_dtype(std::string_view s, DType* out) {
  for (const Info& i : kInfo) {
    if (i.name == s) {
      *out = i.t;
      return true;
    }
  }
  return false;
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while ((man & 0x400u) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (man & 0x3ffu) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  uint32_t sign = (bits >> 16) & 0x8000u;
  uint32_t abs = bits & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);   // NaN
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (abs < 0x38800000u) {                                               // subnormal or zero in f16
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);
    uint32_t e = abs >> 23;
    uint32_t m = (abs & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e;  // 113 + 13 ... maps exponent to subnormal position
    uint32_t half = m >> (shift - 1 + 0);
    // round to nearest even on the bits shifted out
    uint32_t rounded = (half >> 1) + ((half & 1u) && ((m & ((1u << (shift - 1)) - 1)) || ((half >> 1) & 1u)));
    return static_cast<uint16_t>(sign | rounded);
  }
  uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
  return static_cast<uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
}

}  // namespace cpplm
