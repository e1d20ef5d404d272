// Model::load: config -> ModelArgs, then every tensor bound by its Hugging Face name with dtype/shape checks.
#include <cmath>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>

#include "core/error.h"
#include "model/llama.h"
#include "model/registry.h"

namespace cpplm {

// Where bind() finds tensors: a checkpoint's WeightStore or tensors held in memory.
struct Model::TensorLookup {
  std::function<const TensorView*(const std::string&)> find;
  std::function<std::string(const std::string&)> file_of;  // for error messages
  std::string source;                                       // the folder, for missing tensors
  std::vector<std::string> names;
};

namespace {

class Binder {
 public:
  Binder(const Model::TensorLookup& w, const ModelArgs& args, std::string config)
      : w_(w), args_(args), config_(std::move(config)) {}

  TensorView get(const std::string& name, const Shape& shape, bool quantized_codes = false) {
    const TensorView* t = w_.find(name);
    if (!t) throw Error(w_.source + ": missing tensor '" + name + "' (expected " + shape_str(shape) + ")");
    if (quantized_codes) {
      if (t->dtype != DType::U32)
        throw Error(w_.file_of(name) + ": tensor '" + name + "': dtype " + std::string(dtype_name(t->dtype)) +
                    " but " + config_ + " quantizes it (expected U32 packed codes)");
    } else if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16) {
      throw Error(w_.file_of(name) + ": tensor '" + name + "': dtype " + std::string(dtype_name(t->dtype)) +
                  " is not a float type (F32, F16, BF16)" +
                  (t->dtype == DType::U32 ? "; quantized weights need a \"quantization\" block in " + config_ : ""));
    }
    if (t->shape != shape)
      throw Error(w_.file_of(name) + ": tensor '" + name + "': shape " + shape_str(t->shape) + " but " + config_ +
                  " implies " + shape_str(shape));
    used_.insert(name);
    return *t;
  }

  // mlx-lm load_model class_predicate: a per-module entry of the quantization block decides;
  // otherwise a module is quantized iff its `.scales` tensor is stored.
  std::optional<QuantSpec> quant_spec(const std::string& module) const {
    if (!args_.quantization) return std::nullopt;
    if (auto it = args_.quantization_overrides.find(module); it != args_.quantization_overrides.end()) return it->second;
    if (!w_.find(module + ".scales")) return std::nullopt;
    return args_.quantization;
  }

  Linear linear(const std::string& prefix, int64_t out, int64_t in, bool bias) {
    Linear l;
    if (std::optional<QuantSpec> q = quant_spec(prefix)) {
      if (in % q->group_size != 0 || (in * q->bits) % 32 != 0)
        throw Error(config_ + ": " + prefix + ": " + std::to_string(in) + " inputs cannot be quantized in groups of " +
                    std::to_string(q->group_size) + " at " + std::to_string(q->bits) + " bits");
      l.weight = get(prefix + ".weight", {out, in * q->bits / 32}, /*quantized_codes=*/true);
      l.scales = get(prefix + ".scales", {out, in / q->group_size});
      l.biases = get(prefix + ".biases", {out, in / q->group_size});
      if (l.scales.dtype != l.biases.dtype)
        throw Error(w_.file_of(prefix + ".biases") + ": " + prefix + ": scales and biases differ in dtype");
      l.bits = q->bits;
      l.group_size = q->group_size;
    } else {
      l.weight = get(prefix + ".weight", {out, in});
    }
    if (bias) l.bias = get(prefix + ".bias", {out});
    return l;
  }
  const std::set<std::string>& used() const { return used_; }

 private:
  const Model::TensorLookup& w_;
  const ModelArgs& args_;
  std::string config_;
  std::set<std::string> used_;
};

}  // namespace

std::vector<std::string> Model::sanitize(std::vector<std::string> names, bool tied) {
  std::erase_if(names, [&](const std::string& n) {
    return n.find("rotary_emb.inv_freq") != std::string::npos ||
           (tied && (n == "lm_head.weight" || n == "lm_head.scales" || n == "lm_head.biases"));
  });
  return names;
}

std::unique_ptr<Model> Model::load(const std::string& dir, const std::string& config_file) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw Error(dir + ": model folder not found");
  const std::string cfg = (fs::path(dir) / config_file).string();
  if (!fs::exists(cfg)) throw Error(cfg + ": not found (a checkpoint folder needs config.json)");
  auto m = std::unique_ptr<Model>(new Model());
  m->args_ = load_model_args(cfg);
  resolve_model_family(m->args_, cfg);
  m->weights_ = WeightStore::open_dir(dir);
  const WeightStore& ws = m->weights_;
  TensorLookup look{[&](const std::string& n) { return ws.find(n); }, [&](const std::string& n) { return ws.file_of(n); },
                    ws.dir(), ws.names()};
  bind(*m, look, cfg);
  return m;
}

std::unique_ptr<Model> Model::from_tensors(ModelArgs args, std::map<std::string, Tensor> tensors, const std::string& label) {
  auto m = std::unique_ptr<Model>(new Model());
  m->args_ = std::move(args);
  resolve_model_family(m->args_, label);
  m->owned_ = std::move(tensors);
  std::map<std::string, TensorView> views;
  std::vector<std::string> names;
  for (const auto& [n, t] : m->owned_) {
    views[n] = t.view();
    names.push_back(n);
  }
  TensorLookup look{[&](const std::string& n) -> const TensorView* {
                      auto it = views.find(n);
                      return it == views.end() ? nullptr : &it->second;
                    },
                    [&](const std::string&) { return label; }, label, names};
  bind(*m, look, label);
  return m;
}

void Model::bind(Model& mdl, const TensorLookup& look, const std::string& cfg) {
  Model* m = &mdl;
  const ModelArgs& a = m->args_;
  m->tied_ = a.tie_word_embeddings.value_or(!look.find("lm_head.weight"));
  m->rope_ = std::make_unique<Rope>(a, cfg);

  Binder bind(look, a, cfg);
  const int64_t H = a.hidden_size, I = a.intermediate_size, D = a.head_dim;
  LlamaModel& lm = m->model_;
  lm.embed_tokens = bind.linear("model.embed_tokens", a.vocab_size, H, /*bias=*/false);
  lm.norm = bind.get("model.norm.weight", {H});
  lm.rms_norm_eps = static_cast<float>(a.rms_norm_eps);
  lm.layers.resize(a.num_hidden_layers);
  for (int i = 0; i < a.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    TransformerBlock& blk = lm.layers[i];
    Attention& at = blk.self_attn;
    at.q_proj = bind.linear(p + "self_attn.q_proj", a.num_attention_heads * D, H, a.attention_bias);
    at.k_proj = bind.linear(p + "self_attn.k_proj", a.num_key_value_heads * D, H, a.attention_bias);
    at.v_proj = bind.linear(p + "self_attn.v_proj", a.num_key_value_heads * D, H, a.attention_bias);
    at.o_proj = bind.linear(p + "self_attn.o_proj", H, a.num_attention_heads * D, a.attention_bias);
    at.num_heads = a.num_attention_heads;
    at.num_kv_heads = a.num_key_value_heads;
    at.head_dim = a.head_dim;
    at.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
    at.sliding_window = a.is_sliding(i) ? *a.sliding_window : 0;
    at.rope = m->rope_.get();
    blk.mlp.gate_proj = bind.linear(p + "mlp.gate_proj", I, H, a.mlp_bias);
    blk.mlp.up_proj = bind.linear(p + "mlp.up_proj", I, H, a.mlp_bias);
    blk.mlp.down_proj = bind.linear(p + "mlp.down_proj", H, I, a.mlp_bias);
    blk.input_layernorm = bind.get(p + "input_layernorm.weight", {H});
    blk.post_attention_layernorm = bind.get(p + "post_attention_layernorm.weight", {H});
    blk.rms_norm_eps = lm.rms_norm_eps;
  }
  // A tied lm_head is the embedding table used as a Linear (mlx-lm embed_tokens.as_linear).
  m->lm_head_ = m->tied_ ? lm.embed_tokens : bind.linear("lm_head", a.vocab_size, H, /*bias=*/false);

  for (const std::string& n : sanitize(look.names, m->tied_))
    if (!bind.used().count(n))
      throw Error(look.file_of(n) + ": unexpected tensor '" + n + "' (not part of a " + a.model_type + " model)");
}

size_t Model::weight_bytes() const {
  size_t b = model_.embed_tokens.nbytes() + model_.norm.nbytes();
  for (const TransformerBlock& l : model_.layers) {
    for (const Linear* p : {&l.self_attn.q_proj, &l.self_attn.k_proj, &l.self_attn.v_proj, &l.self_attn.o_proj,
                            &l.mlp.gate_proj, &l.mlp.up_proj, &l.mlp.down_proj})
      b += p->nbytes();
    b += l.input_layernorm.nbytes() + l.post_attention_layernorm.nbytes();
  }
  if (!tied_) b += lm_head_.nbytes();
  return b;
}

int64_t Model::num_params() const {
  auto count = [](const Linear& l) { return l.out_features() * l.in_features() + (l.bias.empty() ? 0 : l.out_features()); };
  int64_t n = count(model_.embed_tokens) + model_.norm.numel();
  for (const TransformerBlock& l : model_.layers) {
    for (const Linear* p : {&l.self_attn.q_proj, &l.self_attn.k_proj, &l.self_attn.v_proj, &l.self_attn.o_proj,
                            &l.mlp.gate_proj, &l.mlp.up_proj, &l.mlp.down_proj})
      n += count(*p);
    n += l.input_layernorm.numel() + l.post_attention_layernorm.numel();
  }
  if (!tied_) n += count(lm_head_);
  return n;
}

KVType Model::default_kv_type() const {
  switch (model_dtype()) {
    case DType::BF16: return KVType::BF16;
    case DType::F16: return KVType::F16;
    default: return KVType::F32;
  }
}

SequenceCache Model::make_cache(std::optional<int> max_kv_size, KVType type) const {
  SequenceCache c;
  for (int i = 0; i < args_.num_hidden_layers; ++i) {
    const int kvh = args_.num_key_value_heads, d = args_.head_dim;
    if (args_.is_sliding(i)) {
      int size = *args_.sliding_window;
      if (max_kv_size) size = std::min(size, *max_kv_size);
      c.layers.push_back(std::make_unique<RotatingKVCache>(kvh, d, size, /*keep=*/0, type));
    } else if (max_kv_size) {
      const int keep = *max_kv_size > 8 ? 4 : 0;
      c.layers.push_back(std::make_unique<RotatingKVCache>(kvh, d, *max_kv_size, keep, type));
    } else {
      c.layers.push_back(std::make_unique<KVCache>(kvh, d, type));
    }
  }
  return c;
}

}  // namespace cpplm
