// Normalization and pointwise ops of the Llama block.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace cpplm {

// y [n, dim] = x / sqrt(mean(x²) + eps) * weight   (HF LlamaRMSNorm; weight [dim], any float dtype).
void rms_norm(const float* x, int n, int dim, const TensorView& weight, float eps, float* y);

// out[i] = silu(gate[i]) * up[i]   (the SwiGLU of MLP). out may alias gate.
void silu_mul(const float* gate, const float* up, int64_t count, float* out);

// x[i] += y[i]
void add_inplace(float* x, const float* y, int64_t count);

// Rotates x [n, heads, dims] in place with cos/sin [n, dims/2]. traditional: pairs (2i, 2i+1)
// (mlx rope traditional=True); otherwise halves (i, i + dims/2) as HF rotate_half.
void apply_rope(float* x, int n, int heads, int dims, const float* cos, const float* sin, bool traditional);

}  // namespace cpplm
