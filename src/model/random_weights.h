// Random weights of a model shape (benchmarks without checkpoint files, tests).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/config.h"
#include "model/weight_binder.h"

namespace cpplm {

// Every tensor a Llama model of `args` binds, named as in a checkpoint: float weights of `dtype`
// (uniform, small), norms 1; with bits > 0 each Linear and the embedding are mlx-quantized
// (random codes, scales/biases of `dtype`) and args.quantization must say so. Deterministic in seed.
std::map<std::string, Tensor> random_weights(const ModelArgs& args, DType dtype, int bits, int group_size, uint64_t seed);

// Random weights in llama.cpp's block formats, as a GGUF file of `args` would hold them: every matrix in one type
// ("q4_0", "q8_0", "q4_k", "q6_k", "iq4_xs", ... any type the CPU reads), or llama.cpp's mixes "q4_k_m" and
// "q5_k_m" (Q6_K for the tied embedding and for attn_v / ffn_down of the layers llama-quantize gives more bits);
// norms F32. Random code bytes, block scales set so weights stay near ±1/√in. Throws Error for another name.
struct RandomGgml {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, GgmlWeight> ggml;  // the block-format tensors (U8 [rows, row bytes])
};
RandomGgml random_ggml_weights(const ModelArgs& args, const std::string& type, uint64_t seed);
// The names random_ggml_weights takes.
std::vector<std::string> random_ggml_types();

}  // namespace cpplm
