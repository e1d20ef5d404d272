// Linear layers (nn.Linear / nn.QuantizedLinear): y = x Wᵀ (+ b) for any weight storage.
#pragma once
#include <string>

#include "core/tensor.h"

namespace cpplm {

// One projection. weight [out, in] in F32/F16/BF16 (quantized formats add scales/biases);
// bias [out] or empty.
struct Linear {
  TensorView weight;
  TensorView bias;
  int64_t out_features() const { return weight.dim(0); }
  int64_t in_features() const { return weight.dim(1); }
};

// y [n, out] f32 = x [n, in] f32 · Wᵀ (+ bias). Threads over output features.
void linear(const Linear& l, const float* x, int n, float* y);

// Rows `ids` of an embedding table [vocab, dim] (any float dtype) into out [n, dim] f32.
void embedding(const TensorView& table, const int32_t* ids, int n, float* out);

}  // namespace cpplm
