// The model's constructors (each class binds its own weights, as mlx-lm's __init__ declares them),
// Model::load / from_tensors, the cache factory and the weight statistics.
#include <filesystem>

#include "core/error.h"
#include "model/gguf_model.h"
#include "model/llama.h"
#include "model/registry.h"

namespace cpplm {

Attention::Attention(const ModelArgs& a, WeightBinder& w, const std::string& p)
    : q_proj(w.linear(p + ".q_proj", int64_t{a.num_attention_heads} * a.head_dim, a.hidden_size, a.attention_bias)),
      k_proj(w.linear(p + ".k_proj", int64_t{a.num_key_value_heads} * a.head_dim, a.hidden_size, a.attention_bias)),
      v_proj(w.linear(p + ".v_proj", int64_t{a.num_key_value_heads} * a.head_dim, a.hidden_size, a.attention_bias)),
      o_proj(w.linear(p + ".o_proj", a.hidden_size, int64_t{a.num_attention_heads} * a.head_dim, a.attention_bias)),
      num_heads(a.num_attention_heads),
      num_kv_heads(a.num_key_value_heads),
      head_dim(a.head_dim),
      rope_traditional(a.rope_traditional) {}

MLP::MLP(const ModelArgs& a, WeightBinder& w, const std::string& p)
    : gate_proj(w.linear(p + ".gate_proj", a.intermediate_size, a.hidden_size, a.mlp_bias)),
      up_proj(w.linear(p + ".up_proj", a.intermediate_size, a.hidden_size, a.mlp_bias)),
      down_proj(w.linear(p + ".down_proj", a.hidden_size, a.intermediate_size, a.mlp_bias)) {}

TransformerBlock::TransformerBlock(const ModelArgs& a, WeightBinder& w, const std::string& p)
    : self_attn(a, w, p + ".self_attn"),
      mlp(a, w, p + ".mlp"),
      input_layernorm(w.get(p + ".input_layernorm.weight", {a.hidden_size})),
      post_attention_layernorm(w.get(p + ".post_attention_layernorm.weight", {a.hidden_size})),
      rms_norm_eps(static_cast<float>(a.rms_norm_eps)) {}

std::array<NamedLinear, 7> TransformerBlock::linears() const {
  return {{{"self_attn.q_proj", &self_attn.q_proj},
           {"self_attn.k_proj", &self_attn.k_proj},
           {"self_attn.v_proj", &self_attn.v_proj},
           {"self_attn.o_proj", &self_attn.o_proj},
           {"mlp.gate_proj", &mlp.gate_proj},
           {"mlp.up_proj", &mlp.up_proj},
           {"mlp.down_proj", &mlp.down_proj}}};
}

size_t TransformerBlock::nbytes() const {
  size_t b = input_layernorm.nbytes() + post_attention_layernorm.nbytes();
  for (const NamedLinear& l : linears()) b += l.linear->nbytes();
  return b;
}

LlamaModel::LlamaModel(const ModelArgs& a, WeightBinder& w)
    : embed_tokens(w.linear("model.embed_tokens", a.vocab_size, a.hidden_size, /*bias=*/false)),
      rms_norm_eps(static_cast<float>(a.rms_norm_eps)) {
  layers.reserve(a.num_hidden_layers);
  for (int i = 0; i < a.num_hidden_layers; ++i) layers.emplace_back(a, w, "model.layers." + std::to_string(i));
  norm = w.get("model.norm.weight", {a.hidden_size});
}

Model::Model(ModelArgs args, WeightSource src, const std::string& config)
    : args_(std::move(args)),
      src_(std::move(src)),
      // mlx-lm defaults to tied, transformers to untied: absent the key, the checkpoint decides.
      tied_(args_.tie_word_embeddings.value_or(!src_.find("lm_head.weight"))),
      rope_(args_, config),
      binder_(std::make_unique<WeightBinder>(src_, args_, config)),
      model_(args_, *binder_),
      // A tied lm_head is the embedding table used as a Linear (mlx-lm embed_tokens.as_linear).
      lm_head_(tied_ ? model_.embed_tokens : binder_->linear("lm_head", args_.vocab_size, args_.hidden_size, /*bias=*/false)) {
  binder_->check_all_bound(sanitize(src_.names(), tied_), args_.model_type);
  binder_.reset();
}

std::vector<std::string> Model::sanitize(std::vector<std::string> names, bool tied) {
  std::erase_if(names, [&](const std::string& n) {
    return n.find("rotary_emb.inv_freq") != std::string::npos ||
           (tied && (n == "lm_head.weight" || n == "lm_head.scales" || n == "lm_head.biases"));
  });
  return names;
}

std::unique_ptr<Model> Model::load(const std::string& dir, const std::string& config_file) {
  namespace fs = std::filesystem;
  if (is_gguf_file(dir)) {  // llama.cpp's single-file format (model/gguf_model.h)
    auto file = std::make_shared<const GgufFile>(dir);
    ModelArgs args = gguf_model_args(*file);
    resolve_model_family(args, dir);
    return std::unique_ptr<Model>(new Model(std::move(args), WeightSource::gguf(std::move(file)), dir));
  }
  if (!fs::is_directory(dir)) throw Error(dir + ": model folder not found");
  const std::string cfg = (fs::path(dir) / config_file).string();
  if (!fs::exists(cfg)) throw Error(cfg + ": not found (a checkpoint folder needs config.json)");
  ModelArgs args = load_model_args(cfg);
  resolve_model_family(args, cfg);
  return std::unique_ptr<Model>(new Model(std::move(args), WeightSource::checkpoint(WeightStore::open_dir(dir)), cfg));
}

std::unique_ptr<Model> Model::from_tensors(ModelArgs args, std::map<std::string, Tensor> tensors, const std::string& label) {
  resolve_model_family(args, label);
  return std::unique_ptr<Model>(new Model(std::move(args), WeightSource::memory(std::move(tensors), label), label));
}

std::unique_ptr<Model> Model::from_tensors(ModelArgs args, std::map<std::string, Tensor> tensors,
                                           std::map<std::string, GgmlWeight> ggml, const std::string& label) {
  resolve_model_family(args, label);
  return std::unique_ptr<Model>(
      new Model(std::move(args), WeightSource::memory(std::move(tensors), label, std::move(ggml)), label));
}

bool Model::block_formats() const {
  bool any = model_.embed_tokens.ggml() || lm_head_.ggml();
  for (const TransformerBlock& b : model_.layers)
    for (const NamedLinear& nl : b.linears()) any |= nl.linear->ggml();
  return any;
}

SequenceCache Model::make_cache(SequencePlan plan, KVPoolStorage* pool) const {
  CPPLM_CHECK(static_cast<int>(plan.layers.size()) == args_.num_hidden_layers, "plan of another model");
  SequenceCache c;
  if (pool) {
    CPPLM_CHECK(pool->type() == plan.kv_type, "a K/V pool of another storage type");
    c.blocks = std::make_unique<BlockTable>(pool->pool());
    for (size_t i = 0; i < plan.layers.size(); ++i) {
      const LayerPlan& l = plan.layers[i];
      c.layers.push_back(std::make_unique<KVCache>(args_.num_key_value_heads, args_.head_dim, l.max_size, l.keep, *pool,
                                                   static_cast<int>(i), *c.blocks));
    }
    c.plan = std::move(plan);
    return c;
  }
  for (const LayerPlan& l : plan.layers) {
    if (l.max_size > 0)
      c.layers.push_back(
          std::make_unique<RotatingKVCache>(args_.num_key_value_heads, args_.head_dim, l.max_size, l.keep, plan.kv_type));
    else c.layers.push_back(std::make_unique<KVCache>(args_.num_key_value_heads, args_.head_dim, plan.kv_type));
  }
  c.plan = std::move(plan);
  return c;
}

size_t Model::weight_bytes() const {
  size_t b = model_.embed_tokens.nbytes() + model_.norm.nbytes();
  for (const TransformerBlock& l : model_.layers) b += l.nbytes();
  if (!tied_) b += lm_head_.nbytes();
  return b;
}

int64_t Model::num_params() const {
  auto count = [](const Linear& l) { return l.out_features() * l.in_features() + (l.bias.empty() ? 0 : l.out_features()); };
  int64_t n = count(model_.embed_tokens) + model_.norm.numel();
  for (const TransformerBlock& l : model_.layers) {
    for (const NamedLinear& p : l.linears()) n += count(*p.linear);
    n += l.input_layernorm.numel() + l.post_attention_layernorm.numel();
  }
  if (!tied_) n += count(lm_head_);
  return n;
}

}  // namespace cpplm
