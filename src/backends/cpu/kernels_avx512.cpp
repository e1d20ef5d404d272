// AVX-512 (F/BW/VL/DQ) instantiation of the SIMD kernels; compiled with AVX-512 flags (cmake/isa.cmake).
// GCC 12 warns about _mm512_undefined_* inside its own intrinsic headers (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "backends/cpu/amx_tiles.h"
#include "backends/cpu/avx512_transpose.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/ref_kernels.h"
#include "core/error.h"
#include "core/thread_pool.h"

namespace cpplm::cpu {
namespace avx512 {
namespace {

struct S {
  static constexpr int W = 16;
  static constexpr int kNR = 4;            // decode: rows per step
  static constexpr int kRB = 12, kNV = 2;  // prefill register tile: 12 rows × 32 tokens
  static constexpr int kQR = 12, kQV = 2;  // int8 prefill register tile: 12 rows × 32 tokens
  static constexpr int kDR = 4;            // int8 decode: rows per step for one token ...
  static constexpr int kDRT = 4, kDT = 4;  // ... and for tiles of up to kDT tokens
  using V = __m512;
  using I = __m512i;
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1); }
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V load_n(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V set1(float a) { return _mm512_set1_ps(a); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static float reduce(V v) {  // (not _mm512_reduce_add_ps: GCC 12 warns inside it)
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static V abs(V a) { return _mm512_abs_ps(a); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V select_neg(V x, V a, V b) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, zero(), _CMP_LT_OQ), b, a);
  }  // x < 0 ? a : b
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V round(V a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V scale2(V p, V k) { return _mm512_scalef_ps(p, k); }                                                   // p·2^k
  static V zero_below(V e, V x, V lo) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ), e); }  // x < lo: 0
  static float reduce_max(V v) {
    const __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // W values rounded to nearest-even int8 (|v| <= 127 here).
  static void to_i8(V v, int8_t* out) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v)));
  }
  static I izero() { return _mm512_setzero_si512(); }
  static I iload(const int32_t* p) { return _mm512_loadu_si512(p); }
  static I bcast32(const uint8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  }
  // u8 codes · s8 activations. In asm with the accumulator in place: GCC 12 copies the accumulators
  // of _mm512_dpbusd_epi32 between registers around every call (2 moves per vpdpbusd).
  template <int BITS>
  static I dp(I acc, I u, I s) {
    asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s));
    return acc;
  }
  static V cvt(I a) { return _mm512_cvtepi32_ps(a); }
  // int8 decode (simd_int8_decode_impl.h): 64 bytes, all or the first n (a multiple of 4; zeros after).
  static I bload(const void* p) { return _mm512_loadu_si512(p); }
  static I bload_n(const void* p, int n) { return _mm512_maskz_loadu_epi8(_cvtu64_mask64((~0ull) >> (64 - n)), p); }
  static I iset1(int a) { return _mm512_set1_epi32(a); }
  static I iadd(I a, I b) { return _mm512_add_epi32(a, b); }
  static I isrl(I a, int n) { return _mm512_srl_epi32(a, _mm_cvtsi32_si128(n)); }
  static V permv(V v, I idx) { return _mm512_permutexvar_ps(idx, v); }  // lane l: v[idx[l]]
  // Low and high nibbles of each byte.
  static void nibbles(I v, I& lo, I& hi) {
    const I m = _mm512_set1_epi8(15);
    lo = _mm512_and_si512(v, m);
    hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m);
  }
  // Per int32 lane: Σ of 4 u8·s8 products of (u1, s1) plus those of (u2, s2); Σ of u8·s8 of (u, s).
  static I dp4x2(I u1, I s1, I u2, I s2) {
    I acc = izero();
    asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u1), "v"(s1));
    asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u2), "v"(s2));
    return acc;
  }
  static I dp8(I u, I s) {
    I acc = izero();
    asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s));
    return acc;
  }
  // 128 bytes to their 64 even-indexed bytes (ev) and 64 odd-indexed ones (od), in order.
  static void split_bytes(const int8_t* p, int8_t* ev, int8_t* od) {
    const __m512i a = _mm512_loadu_si512(p), b = _mm512_loadu_si512(p + 64), m = _mm512_set1_epi16(0xff);
    const __m512i e = _mm512_packus_epi16(_mm512_and_si512(a, m), _mm512_and_si512(b, m));  // per 128-bit lane: a's, b's
    const __m512i o = _mm512_packus_epi16(_mm512_srli_epi16(a, 8), _mm512_srli_epi16(b, 8));
    const __m512i idx = _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7);
    _mm512_storeu_si512(ev, _mm512_permutexvar_epi64(idx, e));
    _mm512_storeu_si512(od, _mm512_permutexvar_epi64(idx, o));
  }
  // In-register 16 × 16 transpose: v[i] lane j becomes v[j] lane i.
  static void transpose(V (&v)[W]) { avx512_util::transpose16(v); }
  static V bf16(const uint16_t* p) {
    const __m512i u = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
  }
  static V f16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static V u8(const uint8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  // 16 bytes = 32 codes: lo = even codes (low nibbles), hi = odd codes.
  static void q4(const uint8_t* p, V& lo, V& hi) {
    const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    lo = _mm512_cvtepi32_ps(_mm512_and_si512(v, _mm512_set1_epi32(15)));
    hi = _mm512_cvtepi32_ps(_mm512_srli_epi32(v, 4));
  }
  // 32 codes dequantized (s·q + b) into out[0..32) in column order.
  static void q4_natural(const uint8_t* p, V s, V b, float* out) {
    V lo, hi;
    q4(p, lo, hi);
    lo = fma(lo, s, b);
    hi = fma(hi, s, b);
    const __m512i i0 = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i i1 = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    _mm512_storeu_ps(out, _mm512_permutex2var_ps(lo, i0, hi));
    _mm512_storeu_ps(out + 16, _mm512_permutex2var_ps(lo, i1, hi));
  }
};

#include "backends/cpu/simd_kernels_impl.h"

}  // namespace
}  // namespace avx512

const Kernels& kernels_avx512() {
  static const Kernels k{avx512::matmul,  avx512::prepare_int8, avx512::matmul_int8_prepared,
                         avx512::dequant, avx512::dot,          avx512::axpy,
                         avx512::scale,   avx512::dots,         avx512::axpys,
                         avx512::exp_sum, avx512::silu_mul};
  return k;
}

}  // namespace cpplm::cpu
