// Checkpoint conversion (mlx-lm convert): cast float weights, quantize Linear/Embedding weights in mlx's layout.
#pragma once
#include <cstddef>
#include <functional>
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
  // Called as the input tensors are converted: (tensors done, tensors total, bytes done, bytes
  // total), bytes as stored in the input; last with done == total (the file is written next).
  std::function<void(size_t, size_t, size_t, size_t)> progress;
};

// True for the weights mlx-lm quantizes in a Llama model: every Linear (q/k/v/o, gate/up/down,
// lm_head) and the embedding table, when in_features is divisible by the group size.
// The files besides config.json and the weights that make up a checkpoint (copied by convert).
inline constexpr const char* kModelFiles[] = {"tokenizer.json",          "tokenizer.model",       "tokenizer_config.json",
                                              "special_tokens_map.json", "added_tokens.json",     "chat_template.jinja",
                                              "chat_template.json",      "generation_config.json"};

bool is_quantizable(const std::string& name, const Shape& shape, int group_size);

// The tensors of `ws` (a checkpoint of `args`) converted: floats cast to opts.dtype (default: the
// input's), quantizable weights mlx-quantized into `X.weight` U32 / `X.scales` / `X.biases` when
// opts.quantize. Input quantized weights are dequantized first. *src_dtype gets the input float dtype.
std::map<std::string, Tensor> convert_weights(const WeightStore& ws, const ModelArgs& args, const ConvertOptions& opts,
                                              DType* src_dtype = nullptr);

// Reads the checkpoint folder `in_dir` and writes `out_dir`: model.safetensors, config.json (with
// "quantization" and "quantization_config" blocks when quantized, "torch_dtype"), and the model's
// other files found there copied (kModelFiles: tokenizer, chat template, generation config); other
// files of the folder (notes, data) are not. Throws Error naming the file at fault. Input quantized
// (mlx) weights are dequantized first.
void convert_checkpoint(const std::string& in_dir, const std::string& out_dir, const ConvertOptions& opts);

}  // namespace cpplm
