// ggml's block layouts (ggml-common.h) shared by the dequantizer and the integer dot products.
#pragma once
#include <cstdint>
#include <cstring>

namespace cpplm::cpu::ggml {

constexpr int kQK = 32;    // elements per block of the legacy and IQ4_NL formats
constexpr int kQKK = 256;  // elements per super-block of the K formats and IQ4_XS

// Scales are IEEE halves (ggml_half); codes are little-endian bytes, low nibble first.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];  // y = d * q
};
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];  // element j in the low nibble of byte j, element j+16 in its high nibble; y = d * (q - 8)
};
struct BlockQ4_1 {
  uint16_t d, m;        // y = d * q + m
  uint8_t qs[kQK / 2];  // nibbles as in Q4_0
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];        // 32 fifth bits: bit j of the little-endian word belongs to element j
  uint8_t qs[kQK / 2];  // low 4 bits as in Q4_0; y = d * (q - 16)
};
struct BlockQ5_1 {
  uint16_t d, m;  // y = d * q + m
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ2_K {
  uint8_t scales[kQKK / 16];  // per 16 elements: low nibble scale, high nibble min (4 bits each)
  uint8_t qs[kQKK / 4];       // 2-bit codes: 32 bytes cover 128 elements in 4 shifts of 2 bits
  uint16_t d, dmin;           // super-block scale of the scales and of the mins
};
struct BlockQ3_K {
  uint8_t hmask[kQKK / 8];  // third bit of each code (set means no -4)
  uint8_t qs[kQKK / 4];     // low 2 bits, arranged as in Q2_K
  uint8_t scales[12];       // 16 signed 6-bit scales (stored +32), packed 4+2 bits
  uint16_t d;
};
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];    // 8 (scale, min) pairs of 6 bits, see scale_min_k4
  uint8_t qs[kQKK / 2];  // per 64 elements: 32 bytes, low nibbles first 32 elements, high nibbles next 32
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[kQKK / 8];  // fifth bits: bit 2k of qh[l] for element l of the k-th 32-run's low nibbles, 2k+1 for the high
  uint8_t qs[kQKK / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQKK / 2];      // low 4 bits
  uint8_t qh[kQKK / 4];      // high 2 bits
  int8_t scales[kQKK / 16];  // signed 8-bit scale per 16 elements
  uint16_t d;
};
struct BlockIQ4_NL {
  uint16_t d;
  uint8_t qs[kQK / 2];  // nibbles as in Q4_0, indexing kIQ4NL
};
struct BlockIQ4_XS {
  uint16_t d;
  uint16_t scales_h;            // high 2 bits of the 8 sub-block scales
  uint8_t scales_l[kQKK / 64];  // low 4 bits, two per byte
  uint8_t qs[kQKK / 2];         // per 32 elements: 16 bytes of nibbles as in IQ4_NL
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24 && sizeof(BlockIQ4_NL) == 18);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 && sizeof(BlockIQ4_XS) == 136);

// The non-linear 4-bit code book of IQ4_NL and IQ4_XS (ggml-common.h kvalues_iq4nl).
constexpr int8_t kIQ4NL[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// Blocks are copied out one at a time: the source may be unaligned.
template <class B>
inline B load(const uint8_t* p, size_t i) {
  B b;
  std::memcpy(&b, p + i * sizeof(B), sizeof(B));
  return b;
}

// Q3_K: the 16 six-bit scales (stored +32) packed in 12 bytes: low 4 bits from bytes 0..7 (low nibbles for
// scales 0..7, high nibbles for 8..15), high 2 bits from bytes 8..11.
inline void q3_k_scales(const uint8_t* packed, int8_t out[16]) {
  constexpr uint32_t kLow2 = 0x03030303, kLow4 = 0x0f0f0f0f;
  uint32_t aux[4];
  std::memcpy(aux, packed, 12);
  const uint32_t tmp = aux[2];
  aux[2] = ((aux[0] >> 4) & kLow4) | (((tmp >> 4) & kLow2) << 4);
  aux[3] = ((aux[1] >> 4) & kLow4) | (((tmp >> 6) & kLow2) << 4);
  aux[0] = (aux[0] & kLow4) | (((tmp >> 0) & kLow2) << 4);
  aux[1] = (aux[1] & kLow4) | (((tmp >> 2) & kLow2) << 4);
  std::memcpy(out, aux, 16);
}

// Q4_K / Q5_K: the 8 six-bit scales and mins packed in 12 bytes, as ggml's generic vec_dot unpacks them.
inline void k4_scales(const uint8_t* packed, uint8_t scales[8], uint8_t mins[8]) {
  constexpr uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
  uint32_t utmp[4];
  std::memcpy(utmp, packed, 12);
  utmp[3] = ((utmp[2] >> 4) & kmask2) | (((utmp[1] >> 6) & kmask3) << 4);
  const uint32_t uaux = utmp[1] & kmask1;
  utmp[1] = (utmp[2] & kmask2) | (((utmp[0] >> 6) & kmask3) << 4);
  utmp[2] = uaux;
  utmp[0] &= kmask1;
  std::memcpy(scales, utmp, 8);
  std::memcpy(mins, utmp + 2, 8);
}

}  // namespace cpplm::cpu::ggml
