// Model::load: config -> ModelArgs, then every tensor bound by its Hugging Face name with dtype/shape checks.
#include <cmath>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "model/llama.h"
#include "model/registry.h"

namespace cpplm {
namespace {

class Binder {
 public:
  Binder(const WeightStore& w, std::string config) : w_(w), config_(std::move(config)) {}

  TensorView get(const std::string& name, const Shape& shape) {
    const TensorView* t = w_.find(name);
    if (!t) throw Error(w_.dir() + ": missing tensor '" + name + "' (expected " + shape_str(shape) + ")");
    if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16)
      throw Error(w_.file_of(name) + ": tensor '" + name + "': dtype " + std::string(dtype_name(t->dtype)) +
                  " is not a float type (F32, F16, BF16)");
    if (t->shape != shape)
      throw Error(w_.file_of(name) + ": tensor '" + name + "': shape " + shape_str(t->shape) + " but " + config_ +
                  " implies " + shape_str(shape));
    used_.insert(name);
    return *t;
  }
  Linear linear(const std::string& prefix, int64_t out, int64_t in, bool bias) {
    Linear l;
    l.weight = get(prefix + ".weight", {out, in});
    if (bias) l.bias = get(prefix + ".bias", {out});
    return l;
  }
  const std::set<std::string>& used() const { return used_; }

 private:
  const WeightStore& w_;
  std::string config_;
  std::set<std::string> used_;
};

}  // namespace

std::vector<std::string> Model::sanitize(std::vector<std::string> names, bool tied) {
  std::erase_if(names, [&](const std::string& n) {
    return n.find("rotary_emb.inv_freq") != std::string::npos || (tied && n == "lm_head.weight");
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
  const ModelArgs& a = m->args_;
  m->tied_ = a.tie_word_embeddings.value_or(!m->weights_.has("lm_head.weight"));
  m->rope_ = std::make_unique<Rope>(a, cfg);

  Binder bind(m->weights_, cfg);
  const int64_t H = a.hidden_size, I = a.intermediate_size, D = a.head_dim;
  LlamaModel& lm = m->model_;
  lm.embed_tokens = bind.get("model.embed_tokens.weight", {a.vocab_size, H});
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
  m->lm_head_.weight = m->tied_ ? lm.embed_tokens : bind.get("lm_head.weight", {a.vocab_size, H});

  for (const std::string& n : sanitize(m->weights_.names(), m->tied_))
    if (!bind.used().count(n))
      throw Error(m->weights_.file_of(n) + ": unexpected tensor '" + n + "' (not part of a " + a.model_type + " model)");
  return m;
}

SequenceCache Model::make_cache(std::optional<int> max_kv_size) const {
  SequenceCache c;
  for (int i = 0; i < args_.num_hidden_layers; ++i) {
    const int kvh = args_.num_key_value_heads, d = args_.head_dim;
    if (args_.is_sliding(i)) {
      int size = *args_.sliding_window;
      if (max_kv_size) size = std::min(size, *max_kv_size);
      c.layers.push_back(std::make_unique<RotatingKVCache>(kvh, d, size, /*keep=*/0));
    } else if (max_kv_size) {
      const int keep = *max_kv_size > 8 ? 4 : 0;
      c.layers.push_back(std::make_unique<RotatingKVCache>(kvh, d, *max_kv_size, keep));
    } else {
      c.layers.push_back(std::make_unique<KVCache>(kvh, d));
    }
  }
  return c;
}

}  // namespace cpplm
