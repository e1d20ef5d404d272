// mlx affine quantization (mlx/ops.cpp affine_quantize + pack_and_quantize), in f32.
#include "ops/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"

namespace cpplm {
namespace {

float round_to(DType t, float v) {
  switch (t) {
    case DType::BF16: return bf16_to_f32(f32_to_bf16(v));
    case DType::F16: return f16_to_f32(f32_to_f16(v));
    default: return v;
  }
}

void store(DType t, void* p, int64_t i, float v) {
  switch (t) {
    case DType::BF16: static_cast<uint16_t*>(p)[i] = f32_to_bf16(v); break;
    case DType::F16: static_cast<uint16_t*>(p)[i] = f32_to_f16(v); break;
    default: static_cast<float*>(p)[i] = v; break;
  }
}

}  // namespace

void quantize_affine_row(const float* w, int64_t k, int bits, int group, DType sb_dtype, uint32_t* out, void* scales,
                         void* biases) {
  const float n_bins = static_cast<float>((1 << bits) - 1);
  const int64_t groups = k / group, words = k * bits / 32;
  std::memset(out, 0, words * sizeof(uint32_t));
  for (int64_t g = 0; g < groups; ++g) {
    const float* x = w + g * group;
    const auto [lo, hi] = std::minmax_element(x, x + group);
    const float w_min = *lo, w_max = *hi;
    // The extreme of larger magnitude is the edge: it is represented exactly (mlx).
    const bool min_edge = std::fabs(w_min) > std::fabs(w_max);
    float scale = std::max((w_max - w_min) / n_bins, 1e-7f);
    if (!min_edge) scale = -scale;
    const float edge = min_edge ? w_min : w_max;
    const float q0 = std::nearbyint(edge / scale);
    if (q0 != 0.0f) scale = edge / q0;
    const float bias = q0 == 0.0f ? 0.0f : edge;
    const float s = round_to(sb_dtype, scale), b = round_to(sb_dtype, bias);
    store(sb_dtype, scales, g, s);
    store(sb_dtype, biases, g, b);
    for (int j = 0; j < group; ++j) {
      const float q = std::clamp(std::nearbyint((x[j] - b) / s), 0.0f, n_bins);
      const uint64_t bit = static_cast<uint64_t>(g * group + j) * bits;
      const uint32_t code = static_cast<uint32_t>(q);
      out[bit / 32] |= code << (bit % 32);
      if (bit % 32 + bits > 32) out[bit / 32 + 1] |= code >> (32 - bit % 32);
    }
  }
}

void quantize_affine(const float* w, int64_t m, int64_t k, int bits, int group, DType sb_dtype, uint32_t* codes, void* scales,
                     void* biases) {
  CPPLM_CHECK(bits >= 1 && bits <= 8 && group > 0 && k % group == 0 && (k * bits) % 32 == 0, "bad quantization shape");
  const int64_t groups = k / group, words = k * bits / 32;
  const size_t sb = dtype_size(sb_dtype);
  parallel_for(m, chunk_for(m, 4, 1), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      quantize_affine_row(w + r * k, k, bits, group, sb_dtype, codes + r * words, static_cast<char*>(scales) + r * groups * sb,
                          static_cast<char*>(biases) + r * groups * sb);
  });
}

}  // namespace cpplm
