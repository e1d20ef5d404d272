// Random weights of a model shape (benchmarks without checkpoint files, tests).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "core/tensor.h"
#include "io/config.h"

namespace cpplm {

// Every tensor a Llama model of `args` binds, named as in a checkpoint: float weights of `dtype`
// (uniform, small), norms 1; with bits > 0 each Linear and the embedding are mlx-quantized
// (random codes, scales/biases of `dtype`) and args.quantization must say so. Deterministic in seed.
std::map<std::string, Tensor> random_weights(const ModelArgs& args, DType dtype, int bits, int group_size, uint64_t seed);

}  // namespace cpplm
