// ggml integer dot products, AVX2 (vpmaddubsw + vpmaddwd): ggml_qdot_impl.h compiled for this instruction set.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "backends/cpu/ggml_blocks.h"
#include "backends/cpu/ggml_dequant.h"
#include "backends/cpu/ggml_qdot.h"

namespace cpplm::cpu {
namespace avx2_ggml {

#include "backends/cpu/ggml_qdot_impl.h"

struct V {
  static __m256i dot(__m256i acc, __m256i u, __m256i s) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
  }
  static constexpr bool kWide = false;  // vpmaddubsw saturates past u = 127: signed codes use abs/sign
};

}  // namespace avx2_ggml

void ggml_quantize_token_avx2(GgmlActKind kind, const float* x, int64_t k, int8_t* q, float* d, float* s, int32_t* bsum) {
  avx2_ggml::detail::quantize_token(kind, x, k, q, d, s, bsum);
}

bool ggml_matmul_q_avx2(uint32_t type, const void* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y,
                        int64_t ldy) {
  return avx2_ggml::detail::rows_any<avx2_ggml::V>(type, w, row_bytes, a, m0, m1, y, ldy);
}

}  // namespace cpplm::cpu
