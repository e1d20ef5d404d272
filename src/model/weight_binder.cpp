// WeightSource and WeightBinder: tensors by name, with dtype and shape checks at load time.
#include "model/weight_binder.h"

#include "core/error.h"
#include "io/gguf.h"

namespace cpplm {

WeightSource WeightSource::checkpoint(WeightStore store) {
  WeightSource s;
  s.label_ = store.dir();
  s.store_ = std::move(store);
  return s;
}

WeightSource WeightSource::memory(std::map<std::string, Tensor> tensors, std::string label,
                                  std::map<std::string, GgmlWeight> ggml) {
  WeightSource s;
  s.owned_ = std::move(tensors);
  s.ggml_ = std::move(ggml);
  for (const auto& [n, t] : s.owned_) s.views_[n] = t.view();
  s.views_only_ = true;
  s.label_ = std::move(label);
  return s;
}

const TensorView* WeightSource::find(const std::string& name) const {
  if (views_only_) {
    auto it = views_.find(name);
    return it == views_.end() ? nullptr : &it->second;
  }
  return store_.find(name);
}

std::string WeightSource::file_of(const std::string& name) const { return views_only_ ? label_ : store_.file_of(name); }

std::vector<std::string> WeightSource::names() const {
  if (!views_only_) return store_.names();
  std::vector<std::string> n;
  for (const auto& kv : views_) n.push_back(kv.first);
  return n;
}

const GgmlWeight* WeightSource::ggml(const std::string& name) const {
  auto it = ggml_.find(name);
  return it == ggml_.end() ? nullptr : &it->second;
}

WeightBinder::WeightBinder(const WeightSource& src, const ModelArgs& args, std::string config)
    : src_(src), args_(args), config_(std::move(config)) {}

TensorView WeightBinder::get(const std::string& name, const Shape& shape, bool quantized_codes) {
  const TensorView* t = src_.find(name);
  if (!t) throw Error(src_.label() + ": missing tensor '" + src_.stored_name(name) + "' (expected " + shape_str(shape) + ")");
  if (const GgmlWeight* g = src_.ggml(name))
    throw Error(src_.file_of(name) + ": tensor '" + g->name + "': block-format type " + std::to_string(g->type) +
                " where a float tensor is needed");
  if (quantized_codes) {
    if (t->dtype != DType::U32)
      throw Error(src_.file_of(name) + ": tensor '" + name + "': dtype " + std::string(dtype_name(t->dtype)) + " but " + config_ +
                  " quantizes it (expected U32 packed codes)");
  } else if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16) {
    throw Error(src_.file_of(name) + ": tensor '" + name + "': dtype " + std::string(dtype_name(t->dtype)) +
                " is not a float type (F32, F16, BF16)" +
                (t->dtype == DType::U32 ? "; quantized weights need a \"quantization\" block in " + config_ : ""));
  }
  if (t->shape != shape)
    throw Error(src_.file_of(name) + ": tensor '" + name + "': shape " + shape_str(t->shape) + " but " + config_ + " implies " +
                shape_str(shape));
  used_.insert(name);
  return *t;
}

// mlx-lm load_model class_predicate: a per-module entry of the quantization block decides;
// otherwise a module is quantized iff its `.scales` tensor is stored.
std::optional<QuantSpec> WeightBinder::quant_spec(const std::string& module) const {
  if (!args_.quantization) return std::nullopt;
  if (auto it = args_.quantization_overrides.find(module); it != args_.quantization_overrides.end()) return it->second;
  if (!has(module + ".scales")) return std::nullopt;
  return args_.quantization;
}

Linear WeightBinder::linear(const std::string& prefix, int64_t out, int64_t in, bool bias) {
  Linear l;
  if (const GgmlWeight* g = src_.ggml(prefix + ".weight")) {
    const TensorView* t = src_.find(prefix + ".weight");
    if (g->cols != in || t->dim(0) != out)
      throw Error(src_.file_of(prefix) + ": tensor '" + g->name + "': " + std::to_string(t->dim(0)) + " rows of " +
                  std::to_string(g->cols) + " but the model's settings imply " + std::to_string(out) + " rows of " +
                  std::to_string(in));
    l.weight = *t;
    l.ggml_type = g->type;
    l.ggml_in = in;
    used_.insert(prefix + ".weight");
  } else if (std::optional<QuantSpec> q = quant_spec(prefix)) {
    if (in % q->group_size != 0 || (in * q->bits) % 32 != 0)
      throw Error(config_ + ": " + prefix + ": " + std::to_string(in) + " inputs cannot be quantized in groups of " +
                  std::to_string(q->group_size) + " at " + std::to_string(q->bits) + " bits");
    l.weight = get(prefix + ".weight", {out, in * q->bits / 32}, /*quantized_codes=*/true);
    l.scales = get(prefix + ".scales", {out, in / q->group_size});
    l.biases = get(prefix + ".biases", {out, in / q->group_size});
    if (l.scales.dtype != l.biases.dtype)
      throw Error(src_.file_of(prefix + ".biases") + ": " + prefix + ": scales and biases differ in dtype");
    l.bits = q->bits;
    l.group_size = q->group_size;
  } else {
    l.weight = get(prefix + ".weight", {out, in});
  }
  if (bias) l.bias = get(prefix + ".bias", {out});
  return l;
}

void WeightBinder::check_all_bound(const std::vector<std::string>& expected, const std::string& model_type) const {
  for (const std::string& n : expected)
    if (!used_.count(n))
      throw Error(src_.file_of(n) + ": unexpected tensor '" + n + "' (not part of a " + model_type + " model)");
}

}  // namespace cpplm
