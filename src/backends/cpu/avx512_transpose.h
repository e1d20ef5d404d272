// An in-register 16 × 16 f32 transpose for AVX-512 code (the f32 prefill's output tiles in kernels_avx512.cpp,
// the ggml blocks' AMX tiles in ggml_qdot_avx512.cpp). Include only from files compiled for AVX-512.
#pragma once
#include <immintrin.h>

namespace cpplm::cpu::avx512_util {

// v[i] lane j becomes v[j] lane i. (The zero-masking forms with every lane kept: g++ 12 warns, wrongly, that the
// plain forms read an uninitialized value where they are inlined into some callers.)
inline void transpose16(__m512 (&v)[16]) {
  constexpr __mmask16 k16 = 0xFFFF;
  constexpr __mmask8 k8 = 0xFF;
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_maskz_unpacklo_ps(k16, v[i], v[i + 1]);
    t[i + 1] = _mm512_maskz_unpackhi_ps(k16, v[i], v[i + 1]);
  }
  for (int i = 0; i < 16; i += 4)
    for (int j = 0; j < 2; ++j) {
      const __m512d a = _mm512_castps_pd(t[i + j]), b = _mm512_castps_pd(t[i + j + 2]);
      v[i + 2 * j] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(k8, a, b));
      v[i + 2 * j + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(k8, a, b));
    }
  // v[4q + c] now holds, per 128-bit lane L, column 4L + c of rows 4q .. 4q+3; gather lanes.
  for (int c = 0; c < 4; ++c) {
    const __m512 r0 = v[c], r1 = v[4 + c], r2 = v[8 + c], r3 = v[12 + c];
    const __m512 a = _mm512_maskz_shuffle_f32x4(k16, r0, r1, 0x44), b = _mm512_maskz_shuffle_f32x4(k16, r0, r1, 0xee);
    const __m512 e = _mm512_maskz_shuffle_f32x4(k16, r2, r3, 0x44), f = _mm512_maskz_shuffle_f32x4(k16, r2, r3, 0xee);
    v[c] = _mm512_maskz_shuffle_f32x4(k16, a, e, 0x88);       // lane 0 of r0, r1, r2, r3: column c
    v[4 + c] = _mm512_maskz_shuffle_f32x4(k16, a, e, 0xdd);   // lane 1: column 4 + c
    v[8 + c] = _mm512_maskz_shuffle_f32x4(k16, b, f, 0x88);   // lane 2: column 8 + c
    v[12 + c] = _mm512_maskz_shuffle_f32x4(k16, b, f, 0xdd);  // lane 3: column 12 + c
  }
}

}  // namespace cpplm::cpu::avx512_util
