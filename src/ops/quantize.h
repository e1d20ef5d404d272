// mlx affine quantization (mlx.core.quantize, mode "affine"): the writer side of quantized Linear weights.
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace cpplm {

// Quantizes w [m, k] f32 in groups of `group` columns to `bits` (2..8) per value, as mlx does:
// per group, the extreme of larger magnitude ("edge") is kept exact and scale = ±(max-min)/(2^bits-1),
// bias = edge (or 0 when edge rounds to code 0); q = clip(round((w - bias) / scale), 0, 2^bits-1).
// Writes codes [m, k*bits/32] packed little-endian from the lowest bit, and scales/biases
// [m, k/group] in `sb_dtype` (F32/F16/BF16); codes are computed with the stored (rounded)
// scale and bias, so dequantization reproduces what was quantized against.
void quantize_affine(const float* w, int64_t m, int64_t k, int bits, int group, DType sb_dtype, uint32_t* codes, void* scales,
                     void* biases);
// One row of it (no threads): codes [k*bits/32], scales/biases [k/group].
void quantize_affine_row(const float* w, int64_t k, int bits, int group, DType sb_dtype, uint32_t* codes, void* scales,
                         void* biases);

}  // namespace cpplm
