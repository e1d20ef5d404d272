// AVX2+FMA+F16C instantiation of the SIMD kernels; compiled with AVX2 flags (cmake/isa.cmake).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "backends/cpu/kernels.h"
#include "backends/cpu/ref_kernels.h"

namespace cpplm::cpu {
namespace avx2 {
namespace {

struct S {
  static constexpr int W = 8;
  static constexpr int kNR = 2;            // decode: rows per step (16 ymm registers)
  static constexpr int kRB = 6, kNV = 2;   // prefill register tile: 6 rows × 16 tokens
  using V = __m256;
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
  static const Kernels k{avx2::matmul, avx2::dequant, avx2::dot, avx2::axpy, avx2::scale, avx2::dots, avx2::axpys};
  return k;
}

}  // namespace cpplm::cpu
