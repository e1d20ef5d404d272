// Scalar dequantization of ggml's block formats: layouts of ggml-common.h, formulas of ggml-quants.c (dequantize_row_*).
// Bit-exactness needs ggml's operation order (products formed as floats in the same grouping) and no fused
// multiply-add: this file is compiled with -ffp-contract=off (cmake/layers.cmake).
#include "backends/cpu/ggml_dequant.h"

#include <cstring>
#include <string>

#include "backends/cpu/ggml_blocks.h"
#include "core/dtype.h"
#include "core/error.h"

namespace cpplm::cpu {
namespace {

using namespace ggml;  // NOLINT: the block layouts

float h2f(uint16_t h) { return f16_to_f32(h); }

void dequant_q8_0(const uint8_t* p, size_t nb, float* y) {
  for (size_t i = 0; i < nb; ++i, y += kQK) {
    const BlockQ8_0 b = load<BlockQ8_0>(p, i);
    const float d = h2f(b.d);
    for (int j = 0; j < kQK; ++j) y[j] = b.qs[j] * d;
  }
}

void dequant_q4_0(const uint8_t* p, size_t nb, float* y) {
  for (size_t i = 0; i < nb; ++i, y += kQK) {
    const BlockQ4_0 b = load<BlockQ4_0>(p, i);
    const float d = h2f(b.d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = ((b.qs[j] & 0x0F) - 8) * d;
      y[j + kQK / 2] = ((b.qs[j] >> 4) - 8) * d;
    }
  }
}

void dequant_q4_1(const uint8_t* p, size_t nb, float* y) {
  for (size_t i = 0; i < nb; ++i, y += kQK) {
    const BlockQ4_1 b = load<BlockQ4_1>(p, i);
    const float d = h2f(b.d), m = h2f(b.m);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = (b.qs[j] & 0x0F) * d + m;
      y[j + kQK / 2] = (b.qs[j] >> 4) * d + m;
    }
  }
}

// Q5_0 and Q5_1: the fifth bit of element j is bit j of qh, of element j+16 bit j+16.
template <class B, bool kHasMin>
void dequant_q5(const uint8_t* p, size_t nb, float* y) {
  for (size_t i = 0; i < nb; ++i, y += kQK) {
    const B b = load<B>(p, i);
    const float d = h2f(b.d);
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    for (int j = 0; j < kQK / 2; ++j) {
      const int h0 = ((qh >> j) << 4) & 0x10;
      const int h1 = (qh >> (j + 12)) & 0x10;
      if constexpr (kHasMin) {
        const float m = h2f(b.m);
        y[j] = ((b.qs[j] & 0x0F) | h0) * d + m;
        y[j + kQK / 2] = ((b.qs[j] >> 4) | h1) * d + m;
      } else {
        y[j] = (((b.qs[j] & 0x0F) | h0) - 16) * d;
        y[j + kQK / 2] = (((b.qs[j] >> 4) | h1) - 16) * d;
      }
    }
  }
}

// Per 128 elements, 32 code bytes serve 4 runs of 32 (shifts 0, 2, 4, 6); each run is two 16-element
// groups with their own 4-bit scale and min: y = (d * sc) * q - (dmin * m).
void dequant_q2_k(const uint8_t* p, size_t nb, float* y) {
  for (size_t i = 0; i < nb; ++i) {
    const BlockQ2_K b = load<BlockQ2_K>(p, i);
    const float d = h2f(b.d), min = h2f(b.dmin);
    const uint8_t* q = b.qs;
    int is = 0;
    for (int n = 0; n < kQKK; n += 128, q += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int half = 0; half < 2; ++half) {
          const uint8_t sc = b.scales[is++];
          const float dl = d * (sc & 0x0F), ml = min * (sc >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * ((q[l + 16 * half] >> shift) & 3) - ml;
        }
      }
    }
  }
}

void dequant_q3_k(const uint8_t* p, size_t nb, float* y) {
  for (size_t i = 0; i < nb; ++i) {
    const BlockQ3_K b = load<BlockQ3_K>(p, i);
    const float d_all = h2f(b.d);
    int8_t scales[16];
    q3_k_scales(b.scales, scales);
    const uint8_t* q = b.qs;
    uint8_t m = 1;  // hmask bit of the current run
    int is = 0;
    for (int n = 0; n < kQKK; n += 128, q += 32) {
      for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (int half = 0; half < 16 * 2; half += 16) {
          const float dl = d_all * (scales[is++] - 32);
          for (int l = half; l < half + 16; ++l) *y++ = dl * (((q[l] >> shift) & 3) - ((b.hmask[l] & m) ? 0 : 4));
        }
      }
    }
  }
}

// The 6-bit (scale, min) pair j of Q4_K/Q5_K: pairs 0..3 in the low 6 bits of bytes 0..7; pairs 4..7
// take 4 bits from bytes 8..11 and their top 2 bits from the spare bits of bytes 0..7 (get_scale_min_k4).
void scale_min_k4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q4_K and Q5_K: per 64 elements two (scale, min) pairs; y = (d * sc) * q - (dmin * m).
template <class B, bool kFifthBit>
void dequant_k_4_5(const uint8_t* p, size_t nb, float* y) {
  for (size_t i = 0; i < nb; ++i) {
    const B b = load<B>(p, i);
    const float d = h2f(b.d), min = h2f(b.dmin);
    const uint8_t* q = b.qs;
    uint8_t u1 = 1, u2 = 2;  // qh bits of the two 32-runs
    for (int is = 0; is < 8; is += 2, q += 32, u1 <<= 2, u2 <<= 2) {
      uint8_t sc, m;
      scale_min_k4(is, b.scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      scale_min_k4(is + 1, b.scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) {
        int hi = 0;
        if constexpr (kFifthBit) hi = (b.qh[l] & u1) ? 16 : 0;
        *y++ = d1 * ((q[l] & 0x0F) + hi) - m1;
      }
      for (int l = 0; l < 32; ++l) {
        int hi = 0;
        if constexpr (kFifthBit) hi = (b.qh[l] & u2) ? 16 : 0;
        *y++ = d2 * ((q[l] >> 4) + hi) - m2;
      }
    }
  }
}

// Per 128 elements: 64 ql bytes and 32 qh bytes give 4 runs of 32; y = (d * scale) * (q - 32).
void dequant_q6_k(const uint8_t* p, size_t nb, float* y) {
  for (size_t i = 0; i < nb; ++i) {
    const BlockQ6_K b = load<BlockQ6_K>(p, i);
    const float d = h2f(b.d);
    const uint8_t* ql = b.ql;
    const uint8_t* qh = b.qh;
    const int8_t* sc = b.scales;
    for (int n = 0; n < kQKK; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
}

void dequant_iq4_nl(const uint8_t* p, size_t nb, float* y) {
  for (size_t i = 0; i < nb; ++i, y += kQK) {
    const BlockIQ4_NL b = load<BlockIQ4_NL>(p, i);
    const float d = h2f(b.d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = d * kIQ4NL[b.qs[j] & 0x0F];
      y[j + kQK / 2] = d * kIQ4NL[b.qs[j] >> 4];
    }
  }
}

// Eight 32-element sub-blocks, each with a 6-bit scale (4 low bits in scales_l, 2 high in scales_h), stored +32.
void dequant_iq4_xs(const uint8_t* p, size_t nb, float* y) {
  for (size_t i = 0; i < nb; ++i) {
    const BlockIQ4_XS b = load<BlockIQ4_XS>(p, i);
    const float d = h2f(b.d);
    const uint8_t* qs = b.qs;
    for (int ib = 0; ib < kQKK / 32; ++ib, y += 32, qs += 16) {
      const int ls = ((b.scales_l[ib / 2] >> 4 * (ib % 2)) & 0x0F) | (((b.scales_h >> 2 * ib) & 3) << 4);
      const float dl = d * (ls - 32);
      for (int j = 0; j < 16; ++j) {
        y[j] = dl * kIQ4NL[qs[j] & 0x0F];
        y[j + 16] = dl * kIQ4NL[qs[j] >> 4];
      }
    }
  }
}

const char* type_name(uint32_t type) { return ggml_type_name(static_cast<GgmlType>(type)); }

}  // namespace

bool ggml_block_layout(uint32_t type, size_t* block_elems, size_t* block_bytes) {
  size_t e = kQK, b = 0;
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::F32: e = 1, b = 4; break;
    case GgmlType::F16:
    case GgmlType::BF16: e = 1, b = 2; break;
    case GgmlType::Q4_0: b = sizeof(BlockQ4_0); break;
    case GgmlType::Q4_1: b = sizeof(BlockQ4_1); break;
    case GgmlType::Q5_0: b = sizeof(BlockQ5_0); break;
    case GgmlType::Q5_1: b = sizeof(BlockQ5_1); break;
    case GgmlType::Q8_0: b = sizeof(BlockQ8_0); break;
    case GgmlType::IQ4_NL: b = sizeof(BlockIQ4_NL); break;
    case GgmlType::Q2_K: e = kQKK, b = sizeof(BlockQ2_K); break;
    case GgmlType::Q3_K: e = kQKK, b = sizeof(BlockQ3_K); break;
    case GgmlType::Q4_K: e = kQKK, b = sizeof(BlockQ4_K); break;
    case GgmlType::Q5_K: e = kQKK, b = sizeof(BlockQ5_K); break;
    case GgmlType::Q6_K: e = kQKK, b = sizeof(BlockQ6_K); break;
    case GgmlType::IQ4_XS: e = kQKK, b = sizeof(BlockIQ4_XS); break;
    default: return false;
  }
  *block_elems = e;
  *block_bytes = b;
  return true;
}

void ggml_dequantize(uint32_t type, const void* src, size_t src_bytes, size_t n, float* dst) {
  size_t be = 0, bb = 0;
  if (!ggml_block_layout(type, &be, &bb)) {
    throw Error("ggml dequantization: ggml type " + std::to_string(type) + " is not supported");
  }
  const std::string name = type_name(type);
  if (n % be != 0) {
    throw Error("ggml dequantization of " + name + ": " + std::to_string(n) + " elements is not a whole number of " +
                std::to_string(be) + "-element blocks");
  }
  const size_t nb = n / be;
  if (src_bytes / bb < nb) {
    throw Error("ggml dequantization of " + name + ": " + std::to_string(n) + " elements need " + std::to_string(nb * bb) +
                " bytes, " + std::to_string(src_bytes) + " given");
  }
  const auto* p = static_cast<const uint8_t*>(src);
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::F32: std::memcpy(dst, p, n * 4); break;
    case GgmlType::F16:
      for (size_t i = 0; i < n; ++i) dst[i] = h2f(load<uint16_t>(p, i));
      break;
    case GgmlType::BF16:
      for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load<uint16_t>(p, i));
      break;
    case GgmlType::Q4_0: dequant_q4_0(p, nb, dst); break;
    case GgmlType::Q4_1: dequant_q4_1(p, nb, dst); break;
    case GgmlType::Q5_0: dequant_q5<BlockQ5_0, false>(p, nb, dst); break;
    case GgmlType::Q5_1: dequant_q5<BlockQ5_1, true>(p, nb, dst); break;
    case GgmlType::Q8_0: dequant_q8_0(p, nb, dst); break;
    case GgmlType::Q2_K: dequant_q2_k(p, nb, dst); break;
    case GgmlType::Q3_K: dequant_q3_k(p, nb, dst); break;
    case GgmlType::Q4_K: dequant_k_4_5<BlockQ4_K, false>(p, nb, dst); break;
    case GgmlType::Q5_K: dequant_k_4_5<BlockQ5_K, true>(p, nb, dst); break;
    case GgmlType::Q6_K: dequant_q6_k(p, nb, dst); break;
    case GgmlType::IQ4_NL: dequant_iq4_nl(p, nb, dst); break;
    case GgmlType::IQ4_XS: dequant_iq4_xs(p, nb, dst); break;
    default: break;  // ggml_block_layout admitted only the types above
  }
}

bool ggml_affine_format(uint32_t type, int* bits, int* group) {
  int b = 0, g = 32;
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q4_K: b = 4; break;
    case GgmlType::Q8_0:
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q5_K: b = 8; break;
    case GgmlType::Q6_K: b = 8, g = 16; break;
    default: return false;
  }
  *bits = b, *group = g;
  return true;
}

bool ggml_kscale_records(uint32_t type, const void* src, size_t n, uint8_t* out) {
  if (type != static_cast<uint32_t>(GgmlType::Q4_K) && type != static_cast<uint32_t>(GgmlType::Q5_K)) return false;
  size_t elems = 0, bytes = 0;
  ggml_block_layout(type, &elems, &bytes);
  const auto* p = static_cast<const uint8_t*>(src);
  for (size_t i = 0; i < n / kQKK; ++i, out += kKScaleRecord) {
    const BlockQ4_K x = load<BlockQ4_K>(p + i * bytes, 0);  // d, dmin and the scales lead both block types alike
    std::memcpy(out, &x.d, 2);
    std::memcpy(out + 2, &x.dmin, 2);
    for (int j = 0; j < 8; ++j) scale_min_k4(j, x.scales, out + 4 + 2 * j, out + 5 + 2 * j);
  }
  return true;
}

// Codes are the stored ones made unsigned: Q8_0 q + 128, Q4_0 and Q5_0 as stored (the offset goes into the
// bias), Q6_K its 6-bit code (y = (d·sc)·(q - 32)).
void ggml_affine_params(uint32_t type, const void* src, size_t n, float* s, float* b) {
  const auto* p = static_cast<const uint8_t*>(src);
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::Q8_0:
      for (size_t i = 0; i < n / kQK; ++i) s[i] = h2f(load<BlockQ8_0>(p, i).d), b[i] = -128.0f * s[i];
      return;
    case GgmlType::Q4_0:
      for (size_t i = 0; i < n / kQK; ++i) s[i] = h2f(load<BlockQ4_0>(p, i).d), b[i] = -8.0f * s[i];
      return;
    case GgmlType::Q5_0:
      for (size_t i = 0; i < n / kQK; ++i) s[i] = h2f(load<BlockQ5_0>(p, i).d), b[i] = -16.0f * s[i];
      return;
    case GgmlType::Q4_1:
      for (size_t i = 0; i < n / kQK; ++i) {
        const BlockQ4_1 x = load<BlockQ4_1>(p, i);
        s[i] = h2f(x.d), b[i] = h2f(x.m);
      }
      return;
    case GgmlType::Q5_1:
      for (size_t i = 0; i < n / kQK; ++i) {
        const BlockQ5_1 x = load<BlockQ5_1>(p, i);
        s[i] = h2f(x.d), b[i] = h2f(x.m);
      }
      return;
    case GgmlType::Q4_K:
    case GgmlType::Q5_K: {
      size_t elems = 0, bytes = 0;
      ggml_block_layout(type, &elems, &bytes);
      uint8_t rec[kKScaleRecord];
      for (size_t i = 0; i < n / kQKK; ++i) {
        ggml_kscale_records(type, p + i * bytes, kQKK, rec);
        uint16_t hd, hm;
        std::memcpy(&hd, rec, 2), std::memcpy(&hm, rec + 2, 2);
        const float d = h2f(hd), dmin = h2f(hm);
        for (int j = 0; j < 8; ++j) s[8 * i + j] = d * rec[4 + 2 * j], b[8 * i + j] = -(dmin * rec[5 + 2 * j]);
      }
      return;
    }
    case GgmlType::Q6_K:
      for (size_t i = 0; i < n / kQKK; ++i) {
        const BlockQ6_K x = load<BlockQ6_K>(p, i);
        const float d = h2f(x.d);
        for (int j = 0; j < 16; ++j) s[16 * i + j] = d * x.scales[j], b[16 * i + j] = -32.0f * s[16 * i + j];
      }
      return;
    default: throw Error("ggml type " + std::to_string(type) + " is not affine per group");
  }
}

}  // namespace cpplm::cpu
