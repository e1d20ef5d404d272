// Checkpoint conversion (mlx-lm convert): cast float weights, quantize Linear/Embedding weights in mlx's layout.
#pragma once
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "io/config.h"
#include "io/safetensors.h"

namespace cpplm {

struct ConvertOptions {
  std::optional<DType> dtype;  // float dtype of the output (default: that of the input weights)
  bool quantize = false;
  int bits = 4;
  int group_size = 64;
};

// True for the weights mlx-lm quantizes in a Llama model: every Linear (q/k/v/o, gate/up/down,
// lm_head) and the embedding table, when in_features is divisible by the group size.
bool is_quantizable(const std::string& name, const Shape& shape, int group_size);

// The tensors of `ws` (a checkpoint of `args`) converted: floats cast to opts.dtype (default: the
// input's), quantizable weights mlx-quantized into `X.weight` U32 / `X.scales` / `X.biases` when
// opts.quantize. Input quantized weights are dequantized first. *src_dtype gets the input float dtype.
std::map<std::string, Tensor> convert_weights(const WeightStore& ws, const ModelArgs& args, const ConvertOptions& opts,
                                              DType* src_dtype = nullptr);

// Reads the checkpoint folder `in_dir` and writes `out_dir`: model.safetensors, config.json (with
// "quantization" and "quantization_config" blocks when quantized, "torch_dtype"), and every other
// file of the folder (tokenizer, generation config, chat template) copied. Throws Error naming the
// file at fault. Input quantized (mlx) weights are dequantized first.
void convert_checkpoint(const std::string& in_dir, const std::string& out_dir, const ConvertOptions& opts);

}  // namespace cpplm
