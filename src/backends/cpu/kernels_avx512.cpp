// AVX-512 (F/BW/VL/DQ) instantiation of the SIMD kernels; compiled with AVX-512 flags (cmake/isa.cmake).
// GCC 12 warns about _mm512_undefined_* inside its own intrinsic headers (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "backends/cpu/kernels.h"
#include "backends/cpu/ref_kernels.h"

namespace cpplm::cpu {
namespace avx512 {
namespace {

struct S {
  static constexpr int W = 16;
  static constexpr int kNR = 4;             // decode: rows per step
  static constexpr int kRB = 12, kNV = 2;   // prefill register tile: 12 rows × 32 tokens
  using V = __m512;
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
  static const Kernels k{avx512::matmul, avx512::dequant, avx512::dot, avx512::axpy, avx512::scale, avx512::dots, avx512::axpys};
  return k;
}

}  // namespace cpplm::cpu
