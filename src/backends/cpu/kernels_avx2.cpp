// AVX2+FMA+F16C instantiation of the SIMD kernels; compiled with AVX2 flags (cmake/isa.cmake).
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "backends/cpu/kernels.h"
#include "backends/cpu/ref_kernels.h"
#include "core/error.h"
#include "core/thread_pool.h"

namespace cpplm::cpu {
namespace avx2 {
namespace {

struct S {
  static constexpr int W = 8;
  static constexpr int kNR = 2;            // decode: rows per step (16 ymm registers)
  static constexpr int kRB = 6, kNV = 2;   // prefill register tile: 6 rows × 16 tokens
  static constexpr int kQR = 4, kQV = 1;   // int8 prefill register tile: 4 rows × 8 tokens
  static constexpr int kDR = 2;            // int8 decode: rows per step for one token ...
  static constexpr int kDRT = 2, kDT = 2;  // ... and for tiles of up to kDT tokens
  using V = __m256;
  using I = __m256i;
  static __m256i mask(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V load_n(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V set1(float a) { return _mm256_set1_ps(a); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static float reduce(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static V abs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V select_neg(V x, V a, V b) { return _mm256_blendv_ps(b, a, _mm256_cmp_ps(x, zero(), _CMP_LT_OQ)); }  // x < 0 ? a : b
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V round(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V scale2(V p, V k) {  // p·2^k for integral k with 2^k normal: k added to p's exponent
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(_mm256_cvtps_epi32(k), 23)));
  }
  static V zero_below(V e, V x, V lo) { return _mm256_and_ps(e, _mm256_cmp_ps(x, lo, _CMP_GE_OQ)); }  // x < lo: 0
  static float reduce_max(V v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // W values rounded to nearest-even int8 (|v| <= 127 here).
  static void to_i8(V v, int8_t* out) {
    const __m256i i = _mm256_cvtps_epi32(v);
    const __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packs_epi16(h, h));
  }
  static I izero() { return _mm256_setzero_si256(); }
  static I iload(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static I bcast32(const uint8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
  }
  // acc += Σ of 4 products u8 · s8 per lane, exactly: maddubs's int16 pair sums stay below 2^15 for
  // 4-bit codes (2·15·127); 8-bit codes are split into nibbles (u = 16·hi + lo) to keep that.
  template <int BITS>
  static I dp(I acc, I u, I s) {
    const __m256i ones = _mm256_set1_epi16(1);
    if constexpr (BITS == 4) {
      return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), ones));
    } else {
      const __m256i m = _mm256_set1_epi8(15);
      const __m256i lo = _mm256_and_si256(u, m), hi = _mm256_and_si256(_mm256_srli_epi16(u, 4), m);
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(lo, s), ones));
      return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(hi, s), _mm256_set1_epi16(16)));
    }
  }
  static V cvt(I a) { return _mm256_cvtepi32_ps(a); }
  // int8 decode (simd_int8_decode_impl.h): 32 bytes, all or the first n (a multiple of 4; zeros after).
  static I bload(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  static I bload_n(const void* p, int n) { return _mm256_maskload_epi32(static_cast<const int*>(p), mask(n / 4)); }
  static I iset1(int a) { return _mm256_set1_epi32(a); }
  static I iadd(I a, I b) { return _mm256_add_epi32(a, b); }
  static I isrl(I a, int n) { return _mm256_srl_epi32(a, _mm_cvtsi32_si128(n)); }
  static V permv(V v, I idx) { return _mm256_permutevar8x32_ps(v, idx); }  // lane l: v[idx[l]]
  static void nibbles(I v, I& lo, I& hi) {
    const I m = _mm256_set1_epi8(15);
    lo = _mm256_and_si256(v, m);
    hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
  }
  // 4-bit codes: the two int16 pair sums fit (4·15·127 < 2^15), so they are added before widening.
  static I dp4x2(I u1, I s1, I u2, I s2) {
    const I p = _mm256_add_epi16(_mm256_maddubs_epi16(u1, s1), _mm256_maddubs_epi16(u2, s2));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
  }
  static I dp8(I u, I s) { return dp<8>(izero(), u, s); }
  // 64 bytes to their 32 even-indexed bytes (ev) and 32 odd-indexed ones (od), in order.
  static void split_bytes(const int8_t* p, int8_t* ev, int8_t* od) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)), m = _mm256_set1_epi16(0xff);
    const __m256i e = _mm256_packus_epi16(_mm256_and_si256(a, m), _mm256_and_si256(b, m));  // per 128-bit lane: a's, b's
    const __m256i o = _mm256_packus_epi16(_mm256_srli_epi16(a, 8), _mm256_srli_epi16(b, 8));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(ev), _mm256_permute4x64_epi64(e, 0xd8));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(od), _mm256_permute4x64_epi64(o, 0xd8));
  }
  // In-register 8 × 8 transpose: v[i] lane j becomes v[j] lane i.
  static void transpose(V (&v)[W]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(v[i], v[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(v[i], v[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
      u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
      u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
      u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (int c = 0; c < 4; ++c) {
      v[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
      v[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
    }
  }
  static V bf16(const uint16_t* p) {
    const __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
  }
  static V f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static V u8(const uint8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  // 8 bytes = 16 codes: lo = even codes (low nibbles), hi = odd codes.
  static void q4(const uint8_t* p, V& lo, V& hi) {
    const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    lo = _mm256_cvtepi32_ps(_mm256_and_si256(v, _mm256_set1_epi32(15)));
    hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(v, 4));
  }
  static void q4_natural(const uint8_t* p, V s, V b, float* out) {
    V lo, hi;
    q4(p, lo, hi);
    lo = fma(lo, s, b);
    hi = fma(hi, s, b);
    const V a = _mm256_unpacklo_ps(lo, hi), c = _mm256_unpackhi_ps(lo, hi);  // [0..3 | 8..11], [4..7 | 12..15]
    _mm256_storeu_ps(out, _mm256_permute2f128_ps(a, c, 0x20));
    _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(a, c, 0x31));
  }
};

#include "backends/cpu/simd_kernels_impl.h"

}  // namespace
}  // namespace avx2

const Kernels& kernels_avx2() {
  static const Kernels k{avx2::matmul,  avx2::prepare_int8, avx2::matmul_int8_prepared,
                         avx2::dequant, avx2::dot,          avx2::axpy,
                         avx2::scale,   avx2::dots,         avx2::axpys,
                         avx2::exp_sum, avx2::silu_mul};
  return k;
}

}  // namespace cpplm::cpu
