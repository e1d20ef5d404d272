// ggml integer dot products, AVX-512 VNNI (vpdpbusd on 256-bit vectors): ggml_qdot_impl.h compiled for this instruction set.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "backends/cpu/ggml_dequant.h"
#include "backends/cpu/ggml_qdot.h"

namespace cpplm::cpu {
namespace avx512_ggml {

#include "backends/cpu/ggml_qdot_impl.h"

struct V {
  static __m256i dot(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
  static constexpr bool kWide = true;  // u up to 255 without saturation
};

}  // namespace avx512_ggml

bool ggml_matmul_q_avx512(uint32_t type, const void* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y,
                        int64_t ldy) {
  return avx512_ggml::detail::rows_any<avx512_ggml::V>(type, w, row_bytes, a, m0, m1, y, ldy);
}

}  // namespace cpplm::cpu
