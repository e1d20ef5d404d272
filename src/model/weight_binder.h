// Where the model's constructors find their tensors, and the load-time checks of each one's name,
// dtype and shape (mlx-lm load_weights with strict=True).
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/config.h"
#include "io/safetensors.h"
#include "ops/linear.h"

namespace cpplm {

class GgufFile;

// A tensor of a GGUF file in one of llama.cpp's block formats (its view is U8 [rows, row bytes]).
struct GgmlWeight {
  int type;          // llama.cpp's enum ggml_type
  int64_t cols;      // ne[0]: elements per row
  std::string name;  // the name in the file (blk.N.attn_q.weight)
};

// A model's tensors by Hugging Face name: a checkpoint's safetensors (mmap'ed), a GGUF file's tensors
// (mmap'ed, renamed: model/gguf_model.h), or tensors held in memory (random weights, converted models).
// Owns what the bound TensorViews point into.
class WeightSource {
 public:
  static WeightSource checkpoint(WeightStore store);
  // `ggml` marks tensors held in llama.cpp's block formats (U8 [rows, row bytes]), as from a GGUF file.
  static WeightSource memory(std::map<std::string, Tensor> tensors, std::string label,
                             std::map<std::string, GgmlWeight> ggml = {});
  // Every tensor of a llama-architecture GGUF file by its Hugging Face name (model/gguf_model.cpp);
  // Error naming the tensor for a type without a CPU kernel.
  static WeightSource gguf(std::shared_ptr<const GgufFile> file);

  const TensorView* find(const std::string& name) const;
  std::string file_of(const std::string& name) const;  // the file (or label) holding `name`, for errors
  const std::string& label() const { return label_; }  // the folder or label, for missing tensors
  std::vector<std::string> names() const;
  // A GGUF block-format tensor's type and stored name; nullptr for float tensors and other sources.
  const GgmlWeight* ggml(const std::string& name) const;
  // The name `name` has in the source (a GGUF file's own tensor names), for errors.
  std::string stored_name(const std::string& name) const;

 private:
  WeightStore store_;
  std::map<std::string, Tensor> owned_;
  std::map<std::string, TensorView> views_;
  bool views_only_ = false;  // memory and GGUF sources: views_ is the whole source
  std::shared_ptr<const GgufFile> gguf_;
  std::map<std::string, GgmlWeight> ggml_;
  std::string label_;
};

// Hands the constructors their tensors with checks; remembers what was bound.
class WeightBinder {
 public:
  // `config` names the configuration file in errors.
  WeightBinder(const WeightSource& src, const ModelArgs& args, std::string config);

  bool has(const std::string& name) const { return src_.find(name) != nullptr; }
  // A float tensor (or U32 quantized codes) of exactly `shape`; throws Error naming the file,
  // tensor and expected shape or dtype.
  TensorView get(const std::string& name, const Shape& shape, bool quantized_codes = false);
  // nn.Linear / nn.QuantizedLinear `prefix` with out x in weights (quantized when the checkpoint's
  // quantization block says so for this module, mlx-lm's class_predicate) and an optional bias.
  Linear linear(const std::string& prefix, int64_t out, int64_t in, bool bias);
  // Throws Error for the first tensor of the source (after Model::sanitize) that nothing bound.
  void check_all_bound(const std::vector<std::string>& expected, const std::string& model_type) const;

 private:
  std::optional<QuantSpec> quant_spec(const std::string& module) const;

  const WeightSource& src_;
  const ModelArgs& args_;
  std::string config_;
  std::set<std::string> used_;
};

}  // namespace cpplm
