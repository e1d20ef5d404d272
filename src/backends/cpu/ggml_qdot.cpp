// Activation quantization (q8_0, q8_1, q8_K) and the scalar reference dot products of ggml's generic C code.
// This file is compiled without FMA (no -mfma), so each f32 product is rounded as in ggml's generic code.
#include "backends/cpu/ggml_qdot.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "backends/cpu/ggml_blocks.h"
#include "backends/cpu/ggml_dequant.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/thread_pool.h"

namespace cpplm::cpu {
namespace {

using namespace ggml;  // NOLINT: the block layouts

float h2f(uint16_t h) { return f16_to_f32(h); }

// Round half to even in the default rounding mode (x86's _mm256_round_ps(_MM_ROUND_NEAREST), ggml's nearest_int).
int rne(float v) { return static_cast<int>(std::nearbyint(v)); }

void quantize_q8_0_1(const float* x, int64_t k, bool with_s, int8_t* q, float* d, float* s) {
  for (int64_t b = 0; b < k / 32; ++b, x += 32, q += 32) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float dd = amax / 127.f;
    d[b] = h2f(f32_to_f16(dd));
    const float id = amax != 0.0f ? 127.f / amax : 0.0f;
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      q[j] = static_cast<int8_t>(rne(x[j] * id));
      sum += q[j];
    }
    if (with_s) s[b] = h2f(f32_to_f16(dd * static_cast<float>(sum)));
  }
}

void quantize_q8_k(const float* x, int64_t k, int8_t* q, float* d) {
  for (int64_t b = 0; b < k / 256; ++b, x += 256, q += 256) {
    float max = 0, amax = 0;
    for (int j = 0; j < 256; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) amax = ax, max = x[j];
    }
    if (amax == 0.0f) {
      d[b] = 0.0f;
      std::memset(q, 0, 256);
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < 256; ++j) q[j] = static_cast<int8_t>(std::min(127, rne(iscale * x[j])));
    d[b] = 1 / iscale;
  }
}

float dot_q8_0(const uint8_t* w, int64_t nb, const int8_t* y, const float* yd) {
  float sumf = 0;
  for (int64_t ib = 0; ib < nb; ++ib, y += 32) {
    const BlockQ8_0 x = load<BlockQ8_0>(w, ib);
    int sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += x.qs[j] * y[j];
    sumf += sumi * (h2f(x.d) * yd[ib]);
  }
  return sumf;
}

float dot_q4_0(const uint8_t* w, int64_t nb, const int8_t* y, const float* yd) {
  float sumf = 0;
  for (int64_t ib = 0; ib < nb; ++ib, y += 32) {
    const BlockQ4_0 x = load<BlockQ4_0>(w, ib);
    int sumi0 = 0, sumi1 = 0;
    for (int j = 0; j < 16; ++j) {
      sumi0 += ((x.qs[j] & 0x0F) - 8) * y[j];
      sumi1 += ((x.qs[j] >> 4) - 8) * y[j + 16];
    }
    const int sumi = sumi0 + sumi1;
    sumf += sumi * h2f(x.d) * yd[ib];
  }
  return sumf;
}

float dot_q4_1(const uint8_t* w, int64_t nb, const int8_t* y, const float* yd, const float* ys) {
  float sumf = 0;
  for (int64_t ib = 0; ib < nb; ++ib, y += 32) {
    const BlockQ4_1 x = load<BlockQ4_1>(w, ib);
    int sumi0 = 0, sumi1 = 0;
    for (int j = 0; j < 16; ++j) {
      sumi0 += (x.qs[j] & 0x0F) * y[j];
      sumi1 += (x.qs[j] >> 4) * y[j + 16];
    }
    const int sumi = sumi0 + sumi1;
    sumf += (h2f(x.d) * yd[ib]) * sumi + h2f(x.m) * ys[ib];
  }
  return sumf;
}

template <class B, bool kHasMin>
float dot_q5(const uint8_t* w, int64_t nb, const int8_t* y, const float* yd, const float* ys) {
  float sumf = 0;
  for (int64_t ib = 0; ib < nb; ++ib, y += 32) {
    const B x = load<B>(w, ib);
    uint32_t qh;
    std::memcpy(&qh, x.qh, 4);
    int sumi0 = 0, sumi1 = 0;
    for (int j = 0; j < 16; ++j) {
      const int h0 = ((qh >> j) << 4) & 0x10;
      const int h1 = (qh >> (j + 12)) & 0x10;
      const int x0 = ((x.qs[j] & 0x0F) | h0) - (kHasMin ? 0 : 16);
      const int x1 = ((x.qs[j] >> 4) | h1) - (kHasMin ? 0 : 16);
      sumi0 += x0 * y[j];
      sumi1 += x1 * y[j + 16];
    }
    const int sumi = sumi0 + sumi1;
    if constexpr (kHasMin) sumf += (h2f(x.d) * yd[ib]) * sumi + h2f(x.m) * ys[ib];
    else sumf += (h2f(x.d) * yd[ib]) * sumi;
  }
  return sumf;
}

float dot_iq4_nl(const uint8_t* w, int64_t nb, const int8_t* y, const float* yd) {
  float sumf = 0;
  for (int64_t ib = 0; ib < nb; ++ib, y += 32) {
    const BlockIQ4_NL x = load<BlockIQ4_NL>(w, ib);
    const float d = yd[ib] * h2f(x.d);
    int sumi1 = 0, sumi2 = 0;
    for (int j = 0; j < 16; ++j) {
      sumi1 += y[j] * kIQ4NL[x.qs[j] & 0x0F];
      sumi2 += y[j + 16] * kIQ4NL[x.qs[j] >> 4];
    }
    sumf += d * (sumi1 + sumi2);
  }
  return sumf;
}

float dot_q2_k(const uint8_t* w, int64_t nb, const int8_t* y, const float* yd, const int32_t* bsums) {
  float sumf = 0;
  for (int64_t i = 0; i < nb; ++i, bsums += 16) {
    const BlockQ2_K x = load<BlockQ2_K>(w, i);
    const uint8_t* q2 = x.qs;
    const int8_t* q8 = y + i * 256;
    const uint8_t* sc = x.scales;
    int summs = 0;
    for (int j = 0; j < 16; ++j) summs += bsums[j] * (sc[j] >> 4);
    const float dall = yd[i] * h2f(x.d);
    const float dmin = yd[i] * h2f(x.dmin);
    int isum = 0, is = 0;
    for (int k = 0; k < 2; ++k, q2 += 32) {
      for (int shift = 0; shift < 8; shift += 2, q8 += 32) {
        int d = sc[is++] & 0xF;
        int isuml = 0;
        for (int l = 0; l < 16; ++l) isuml += q8[l] * ((q2[l] >> shift) & 3);
        isum += d * isuml;
        d = sc[is++] & 0xF;
        isuml = 0;
        for (int l = 16; l < 32; ++l) isuml += q8[l] * ((q2[l] >> shift) & 3);
        isum += d * isuml;
      }
    }
    sumf += dall * isum - dmin * summs;
  }
  return sumf;
}

// The 16-element scale groups of Q3_K and Q6_K into ggml's eight lane sums: aux32[l] += scale · q8[l]·a[l] over
// groups of 8 columns, then sums[l] += d · aux32[l] per super-block and Σ sums[l] at the end.
void lane_sums(const int8_t* a, const int8_t* q8, const int* scale16, int32_t aux32[8]) {
  for (int j = 0; j < 16; ++j) {
    for (int h = 0; h < 2; ++h, q8 += 8, a += 8) {
      for (int l = 0; l < 8; ++l) {
        const int16_t p = static_cast<int16_t>(q8[l] * a[l]);
        aux32[l] += scale16[j] * p;
      }
    }
  }
}

float dot_q3_k(const uint8_t* w, int64_t nb, const int8_t* y, const float* yd) {
  float sums[8] = {};
  for (int64_t i = 0; i < nb; ++i) {
    const BlockQ3_K x = load<BlockQ3_K>(w, i);
    int8_t a[256];
    int8_t* p = a;
    const uint8_t* q3 = x.qs;
    uint8_t m = 1;
    for (int j = 0; j < 256; j += 128, q3 += 32) {
      for (int shift = 0; shift < 8; shift += 2, p += 32, m <<= 1)
        for (int l = 0; l < 32; ++l) p[l] = static_cast<int8_t>(((q3[l] >> shift) & 3) - ((x.hmask[l] & m) ? 0 : 4));
    }
    int8_t sc8[16];
    q3_k_scales(x.scales, sc8);
    int sc[16];
    for (int j = 0; j < 16; ++j) sc[j] = sc8[j] - 32;
    int32_t aux32[8] = {};
    lane_sums(a, y + i * 256, sc, aux32);
    const float d = h2f(x.d) * yd[i];
    for (int l = 0; l < 8; ++l) sums[l] += d * aux32[l];
  }
  float sumf = 0;
  for (int l = 0; l < 8; ++l) sumf += sums[l];
  return sumf;
}

template <class B, bool kFifth>
float dot_k_4_5(const uint8_t* w, int64_t nb, const int8_t* y, const float* yd, const int32_t* bsums) {
  float sums[8] = {};
  float sumf = 0;
  for (int64_t i = 0; i < nb; ++i, bsums += 16) {
    const B x = load<B>(w, i);
    int8_t a[256];
    int8_t* p = a;
    const uint8_t* q4 = x.qs;
    uint8_t m = 1;
    for (int j = 0; j < 4; ++j, q4 += 32) {
      for (int l = 0; l < 32; ++l) p[l] = static_cast<int8_t>(q4[l] & 0xF);
      if constexpr (kFifth)
        for (int l = 0; l < 32; ++l) p[l] = static_cast<int8_t>(p[l] + ((x.qh[l] & m) ? 16 : 0));
      p += 32, m <<= 1;
      for (int l = 0; l < 32; ++l) p[l] = static_cast<int8_t>(q4[l] >> 4);
      if constexpr (kFifth)
        for (int l = 0; l < 32; ++l) p[l] = static_cast<int8_t>(p[l] + ((x.qh[l] & m) ? 16 : 0));
      p += 32, m <<= 1;
    }
    uint8_t scales[8], mins[8];
    k4_scales(x.scales, scales, mins);
    int sumi = 0;
    for (int j = 0; j < 16; ++j) sumi += bsums[j] * mins[j / 2];
    int sc[16];
    for (int j = 0; j < 16; ++j) sc[j] = scales[j / 2];
    int32_t aux32[8] = {};
    lane_sums(a, y + i * 256, sc, aux32);
    const float d = h2f(x.d) * yd[i];
    for (int l = 0; l < 8; ++l) sums[l] += d * aux32[l];
    const float dmin = h2f(x.dmin) * yd[i];
    sumf -= dmin * sumi;
  }
  for (int l = 0; l < 8; ++l) sumf += sums[l];
  return sumf;
}

float dot_q6_k(const uint8_t* w, int64_t nb, const int8_t* y, const float* yd) {
  float sums[8] = {};
  for (int64_t i = 0; i < nb; ++i) {
    const BlockQ6_K x = load<BlockQ6_K>(w, i);
    int8_t a[256];
    const uint8_t* q4 = x.ql;
    const uint8_t* qh = x.qh;
    for (int j = 0; j < 256; j += 128, q4 += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        a[j + l + 0] = static_cast<int8_t>(((q4[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        a[j + l + 32] = static_cast<int8_t>(((q4[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        a[j + l + 64] = static_cast<int8_t>(((q4[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        a[j + l + 96] = static_cast<int8_t>(((q4[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
    }
    int sc[16];
    for (int j = 0; j < 16; ++j) sc[j] = x.scales[j];
    int32_t aux32[8] = {};
    lane_sums(a, y + i * 256, sc, aux32);
    const float d = h2f(x.d) * yd[i];
    for (int l = 0; l < 8; ++l) sums[l] += d * aux32[l];
  }
  float sumf = 0;
  for (int l = 0; l < 8; ++l) sumf += sums[l];
  return sumf;
}

float dot_iq4_xs(const uint8_t* w, int64_t nb, const int8_t* y, const float* yd) {
  float sumf = 0;
  for (int64_t ibl = 0; ibl < nb; ++ibl) {
    const BlockIQ4_XS x = load<BlockIQ4_XS>(w, ibl);
    const float d4d8 = h2f(x.d) * yd[ibl];
    uint16_t h = x.scales_h;
    const uint8_t* qs = x.qs;
    const int8_t* q8 = y + ibl * 256;
    for (int ib = 0; ib < 8; ib += 2) {
      const int ls1 = (x.scales_l[ib / 2] & 0xf) | ((h << 4) & 0x30);
      const int ls2 = (x.scales_l[ib / 2] >> 4) | ((h << 2) & 0x30);
      h = static_cast<uint16_t>(h >> 4);
      const float d1 = d4d8 * (ls1 - 32);
      const float d2 = d4d8 * (ls2 - 32);
      int sumi1 = 0, sumi2 = 0;
      for (int j = 0; j < 16; ++j) {
        sumi1 += q8[j] * kIQ4NL[qs[j] & 0xf];
        sumi2 += q8[j + 16] * kIQ4NL[qs[j] >> 4];
      }
      sumf += d1 * (sumi1 + sumi2);
      qs += 16, q8 += 32;
      sumi1 = sumi2 = 0;
      for (int j = 0; j < 16; ++j) {
        sumi1 += q8[j] * kIQ4NL[qs[j] & 0xf];
        sumi2 += q8[j + 16] * kIQ4NL[qs[j] >> 4];
      }
      sumf += d2 * (sumi1 + sumi2);
      qs += 16, q8 += 32;
    }
  }
  return sumf;
}

}  // namespace

GgmlActKind ggml_act_kind(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::Q8_0:
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
    case GgmlType::IQ4_NL: return GgmlActKind::Q8_0;
    case GgmlType::Q4_1:
    case GgmlType::Q5_1: return GgmlActKind::Q8_1;
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
    case GgmlType::IQ4_XS: return GgmlActKind::Q8_K;
    default: break;
  }
  throw Error("ggml type " + std::to_string(type) + " has no integer dot product");
}

void ggml_quantize_acts(uint32_t type, const float* x, int n, int64_t k, GgmlActs* out) {
  GgmlActs& a = *out;
  a.kind = ggml_act_kind(type);
  a.block = a.kind == GgmlActKind::Q8_K ? 256 : 32;
  if (k % a.block != 0) throw Error("ggml activations: " + std::to_string(k) + " columns are not whole blocks");
  a.n = n;
  a.k = k;
  const int64_t nb = k / a.block;
  a.q.resize(static_cast<size_t>(n * k));
  a.d.resize(static_cast<size_t>(n * nb));
  a.s.resize(a.kind == GgmlActKind::Q8_1 ? static_cast<size_t>(n * (k / 32)) : 0);
  a.bsum.resize(static_cast<size_t>(n * (k / 16)));
  const Isa isa = active_isa();
  auto one = [&](int t) {
    const float* xt = x + static_cast<int64_t>(t) * k;
    int8_t* q = a.q.data() + static_cast<int64_t>(t) * k;
    float* d = a.d.data() + static_cast<int64_t>(t) * nb;
    float* s = a.kind == GgmlActKind::Q8_1 ? a.s.data() + t * (k / 32) : nullptr;
    int32_t* bs = a.bsum.data() + static_cast<int64_t>(t) * (k / 16);
    if (isa == Isa::Avx512) return ggml_quantize_token_avx512(a.kind, xt, k, q, d, s, bs);
    if (isa == Isa::Avx2) return ggml_quantize_token_avx2(a.kind, xt, k, q, d, s, bs);
    if (a.kind == GgmlActKind::Q8_K) quantize_q8_k(xt, k, q, d);
    else quantize_q8_0_1(xt, k, a.kind == GgmlActKind::Q8_1, q, d, s);
    for (int64_t g = 0; g < k / 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += q[g * 16 + j];
      bs[g] = sum;
    }
  };
  // Tokens in parallel (a nested call runs on the caller).
  parallel_for(n, std::max<int64_t>(1, n / (2 * pool_threads())), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) one(static_cast<int>(t));
  });
  a.panel.clear();
  if (n >= kGgmlPanelMin) {
    const int groups = (n + 15) / 16;
    a.panel.assign(static_cast<size_t>(groups * (k / 32)) * sizeof(GgmlPanelBlock), 0);
    auto* pb = reinterpret_cast<GgmlPanelBlock*>(a.panel.data());
    parallel_for(groups, 1, [&](int64_t g0, int64_t g1) {
      for (int t = static_cast<int>(g0) * 16; t < std::min(n, static_cast<int>(g1) * 16); ++t) {
        const int g = t / 16, l = t % 16;
        const int8_t* q = a.codes(t);
        for (int64_t b = 0; b < k / 32; ++b) {
          GgmlPanelBlock& p = pb[g * (k / 32) + b];
          for (int c = 0; c < 8; ++c) std::memcpy(p.q[c][l], q + b * 32 + 4 * c, 4);
          p.sum[l] = a.bsums(t)[2 * b] + a.bsums(t)[2 * b + 1];
          p.sum_lo[l] = a.bsums(t)[2 * b];
          p.d[l] = a.scales(t)[b * 32 / a.block];
          p.s[l] = a.kind == GgmlActKind::Q8_1 ? a.sums(t)[b] : 0.0f;
        }
      }
    });
  }
}

float ggml_vec_dot_ref(uint32_t type, const uint8_t* w, const GgmlActs& a, int t) {
  const int8_t* y = a.codes(t);
  const float* yd = a.scales(t);
  const int64_t nb = a.k / (a.kind == GgmlActKind::Q8_K ? 256 : 32);
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::Q8_0: return dot_q8_0(w, nb, y, yd);
    case GgmlType::Q4_0: return dot_q4_0(w, nb, y, yd);
    case GgmlType::Q4_1: return dot_q4_1(w, nb, y, yd, a.sums(t));
    case GgmlType::Q5_0: return dot_q5<BlockQ5_0, false>(w, nb, y, yd, nullptr);
    case GgmlType::Q5_1: return dot_q5<BlockQ5_1, true>(w, nb, y, yd, a.sums(t));
    case GgmlType::IQ4_NL: return dot_iq4_nl(w, nb, y, yd);
    case GgmlType::Q2_K: return dot_q2_k(w, nb, y, yd, a.bsums(t));
    case GgmlType::Q3_K: return dot_q3_k(w, nb, y, yd);
    case GgmlType::Q4_K: return dot_k_4_5<BlockQ4_K, false>(w, nb, y, yd, a.bsums(t));
    case GgmlType::Q5_K: return dot_k_4_5<BlockQ5_K, true>(w, nb, y, yd, a.bsums(t));
    case GgmlType::Q6_K: return dot_q6_k(w, nb, y, yd);
    case GgmlType::IQ4_XS: return dot_iq4_xs(w, nb, y, yd);
    default: break;
  }
  throw Error("ggml type " + std::to_string(type) + " has no integer dot product");
}

void ggml_matmul_q_ref(uint32_t type, const void* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y,
                       int64_t ldy) {
  const auto* base = static_cast<const uint8_t*>(w);
  for (int64_t r = m0; r < m1; ++r)
    for (int t = 0; t < a.n; ++t) y[t * ldy + r] = ggml_vec_dot_ref(type, base + static_cast<size_t>(r) * row_bytes, a, t);
}

void ggml_matmul_q(Isa isa, uint32_t type, const void* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y,
                   int64_t ldy) {
  if (m1 <= m0 || a.n == 0) return;
  if (isa == Isa::Avx512 && ggml_matmul_q_avx512(type, w, row_bytes, a, m0, m1, y, ldy)) return;
  if (isa == Isa::Avx2 && ggml_matmul_q_avx2(type, w, row_bytes, a, m0, m1, y, ldy)) return;
  ggml_matmul_q_ref(type, w, row_bytes, a, m0, m1, y, ldy);
}

}  // namespace cpplm::cpu
