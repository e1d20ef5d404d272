// Linear layers (nn.Linear / nn.QuantizedLinear) and embeddings: y = x Wᵀ (+ b) for any weight storage.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace cpplm {

// One projection. Float: weight [out, in] F32/F16/BF16. mlx affine-quantized (bits > 0):
// weight U32 [out, in*bits/32] (codes packed little-endian from the lowest bit), scales and
// biases [out, in/group_size] in the model's float dtype; W = scales·q + biases per group.
// bias [out] or empty. Also used for (quantized) embedding tables [vocab, dim].
// llama.cpp block formats (GGUF, ggml_type >= 0: Q8_0, Q4_K, ...): weight U8 [out, row bytes], the rows
// as stored in the file, ggml_in the inputs per row; F32/F16/BF16 GGUF tensors are plain float weights.
struct Linear {
  TensorView weight;
  TensorView scales, biases;  // quantized only
  TensorView bias;
  int bits = 0;  // 0 = not quantized
  int group_size = 0;
  int ggml_type = -1;   // llama.cpp's enum ggml_type of a block-format weight, -1 otherwise
  int64_t ggml_in = 0;  // in_features of a block-format weight
  bool quantized() const { return bits > 0; }
  bool ggml() const { return ggml_type >= 0; }
  int64_t out_features() const { return weight.dim(0); }
  int64_t in_features() const { return ggml() ? ggml_in : quantized() ? weight.dim(1) * 32 / bits : weight.dim(1); }
  // The float dtype of the layer (weight dtype, or that of the scales when quantized; F32 for block formats).
  DType float_dtype() const { return ggml() ? DType::F32 : quantized() ? scales.dtype : weight.dtype; }
  // Bytes of the stored tensors (what one full pass reads).
  size_t nbytes() const { return weight.nbytes() + scales.nbytes() + biases.nbytes() + bias.nbytes(); }
};

// y [n, out] f32 = x [n, in] f32 · Wᵀ (+ bias). Threads over output features; SIMD kernels of
// the CPU's instruction set (backends/cpu/kernels.h).
void linear(const Linear& l, const float* x, int n, float* y);
// Up to this many rows, linear() computes each row exactly as it does alone (same sums, same
// order): batched decode steps then give each sequence the logits it gets alone.
int linear_exact_rows();
// Whether 4/8-bit weights run on int8-quantized activations (the default) rather than exactly on f32
// ones (CPPLM_EXACT_QUANT=1); the GPU executor follows the same setting.
bool quantized_int8_activations();

// Rows `ids` of an embedding table [vocab, dim] (any float dtype, or quantized) into out [n, dim] f32.
void embedding(const Linear& table, const int32_t* ids, int n, float* out);
void embedding(const TensorView& table, const int32_t* ids, int n, float* out);

}  // namespace cpplm

namespace cpplm {

// The whole matrix as f32: out [out_features, in_features] (dequantized when quantized).
void dequantize(const Linear& l, float* out);

// A GGUF block-format weight whose values are affine per group (cpu::ggml_affine_format: Q8_0, Q4_0/1, Q5_0/1,
// Q4_K, Q5_K, Q6_K) in mlx's layout: unsigned codes of `bits` bits packed from the lowest bit, and an f32 scale
// and bias per group, with fma(scale, q, bias) equal to the file's dequantized values.
struct AffineWeight {
  int bits = 0, group = 0;
  std::vector<uint32_t> codes;        // [out, in * bits / 32]
  std::vector<float> scales, biases;  // [out, in / group]
  std::vector<uint8_t> kscales;       // Q4_K / Q5_K: cpu::ggml_kscale_records of each row in turn, else empty
};
// False (a untouched) when l is not such a weight.
bool ggml_affine(const Linear& l, AffineWeight& a);

}  // namespace cpplm
