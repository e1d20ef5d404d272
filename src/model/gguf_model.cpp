// GGUF (llama architecture) → ModelArgs and WeightSource: metadata keys, tensor names, types with a CPU kernel.
#include "model/gguf_model.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "core/error.h"
#include "model/weight_binder.h"

namespace cpplm {
namespace {

// llama-arch.cpp LLM_TENSOR_NAMES (per block) ↔ transformers' LlamaDecoderLayer members.
constexpr std::pair<const char*, const char*> kBlockNames[] = {
    {"attn_norm", "input_layernorm"}, {"ffn_norm", "post_attention_layernorm"},
    {"attn_q", "self_attn.q_proj"},   {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},   {"attn_output", "self_attn.o_proj"},
    {"ffn_gate", "mlp.gate_proj"},    {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
};
constexpr std::pair<const char*, const char*> kTopNames[] = {
    {"token_embd", "model.embed_tokens"},
    {"output_norm", "model.norm"},
    {"output", "lm_head"},
};

// Block formats the CPU decodes (backends/cpu/ggml_dequant.h); F32/F16/BF16 bind as float tensors.
constexpr GgmlType kBlockTypes[] = {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1,   GgmlType::Q5_0,
                                    GgmlType::Q5_1, GgmlType::Q2_K, GgmlType::Q3_K,   GgmlType::Q4_K,
                                    GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS};

bool is_block_type(GgmlType t) {
  for (GgmlType b : kBlockTypes)
    if (b == t) return true;
  return false;
}

std::string supported_types() {
  std::string s = "F32, F16, BF16";
  for (GgmlType b : kBlockTypes) s += std::string(", ") + ggml_type_name(b);
  return s;
}

// Splits "stem.suffix" at the last dot ("weight" / "bias").
bool split_suffix(const std::string& n, std::string& stem, std::string& suffix) {
  const size_t dot = n.rfind('.');
  if (dot == std::string::npos) return false;
  stem = n.substr(0, dot);
  suffix = n.substr(dot);
  return true;
}

}  // namespace

std::string gguf_to_hf_name(const std::string& g) {
  std::string stem, suffix;
  if (!split_suffix(g, stem, suffix)) return g;
  for (const auto& [from, to] : kTopNames)
    if (stem == from) return to + suffix;
  if (stem.rfind("blk.", 0) == 0) {
    const size_t dot = stem.find('.', 4);
    if (dot == std::string::npos) return g;
    const std::string layer = stem.substr(4, dot - 4), part = stem.substr(dot + 1);
    if (layer.empty() || layer.find_first_not_of("0123456789") != std::string::npos) return g;
    for (const auto& [from, to] : kBlockNames)
      if (part == from) return "model.layers." + layer + "." + to + suffix;
  }
  return g;
}

std::string hf_to_gguf_name(const std::string& h) {
  std::string stem, suffix;
  if (!split_suffix(h, stem, suffix)) return h;
  for (const auto& [to, from] : kTopNames)
    if (stem == from) return to + suffix;
  const std::string pre = "model.layers.";
  if (stem.rfind(pre, 0) == 0) {
    const size_t dot = stem.find('.', pre.size());
    if (dot == std::string::npos) return h;
    const std::string layer = stem.substr(pre.size(), dot - pre.size()), part = stem.substr(dot + 1);
    for (const auto& [to, from] : kBlockNames)
      if (part == from) return "blk." + layer + "." + to + suffix;
  }
  return h;
}

ModelArgs gguf_model_args(const GgufFile& f) {
  const std::string& src = f.path();
  const std::string arch = f.get_string("general.architecture");
  if (arch != "llama")
    throw Error(src + ": key \"general.architecture\": unsupported architecture \"" + arch + "\" (supported: llama)");
  auto key = [](const char* k) { return std::string("llama.") + k; };
  auto err = [&](const std::string& k, const std::string& why) { return Error(src + ": key \"" + k + "\": " + why); };
  ModelArgs a;
  a.model_type = "llama";
  auto as_int = [&](const std::string& k, uint32_t v) {
    if (v == 0 || v > (1u << 30)) throw err(k, "value " + std::to_string(v) + " is out of range");
    return static_cast<int>(v);
  };
  a.hidden_size = as_int(key("embedding_length"), f.get_u32(key("embedding_length")));
  a.num_hidden_layers = as_int(key("block_count"), f.get_u32(key("block_count")));
  a.intermediate_size = as_int(key("feed_forward_length"), f.get_u32(key("feed_forward_length")));
  a.num_attention_heads = as_int(key("attention.head_count"), f.get_u32(key("attention.head_count")));
  a.num_key_value_heads = a.num_attention_heads;
  if (auto kv = f.get_u32_opt(key("attention.head_count_kv")))
    a.num_key_value_heads = as_int(key("attention.head_count_kv"), *kv);
  if (a.num_attention_heads % a.num_key_value_heads != 0)
    throw err(key("attention.head_count_kv"), std::to_string(a.num_key_value_heads) + " does not divide the " +
                                                  std::to_string(a.num_attention_heads) + " attention heads");
  a.head_dim = a.hidden_size / a.num_attention_heads;
  if (auto kl = f.get_u32_opt(key("attention.key_length"))) a.head_dim = as_int(key("attention.key_length"), *kl);
  if (auto vl = f.get_u32_opt(key("attention.value_length")); vl && static_cast<int>(*vl) != a.head_dim)
    throw err(key("attention.value_length"), std::to_string(*vl) + " differs from the key length " + std::to_string(a.head_dim));
  if (auto rd = f.get_u32_opt(key("rope.dimension_count")); rd && static_cast<int>(*rd) != a.head_dim)
    throw err(key("rope.dimension_count"),
              std::to_string(*rd) + ": RoPE over part of a head (head size " + std::to_string(a.head_dim) + ") is not supported");
  if (a.head_dim % 2 != 0) throw err(key("attention.key_length"), "odd head size " + std::to_string(a.head_dim));
  a.rms_norm_eps = f.get_f32(key("attention.layer_norm_rms_epsilon"));
  if (auto c = f.get_u32_opt(key("context_length"))) a.max_position_embeddings = static_cast<int>(*c);
  if (auto t = f.get_f32_opt(key("rope.freq_base"))) a.rope_theta = *t;
  a.rope_traditional = true;  // rows of Q and K are stored in llama.cpp's interleaved-RoPE order (see the header)

  // Vocabulary: the key, else the embedding's rows.
  const GgufTensor* embd = f.find_tensor("token_embd.weight");
  if (!embd) throw Error(src + ": missing tensor 'token_embd.weight'");
  if (embd->ne.size() != 2) throw Error(src + ": tensor 'token_embd.weight' is not 2-D");
  a.vocab_size = static_cast<int>(embd->ne[1]);
  if (auto v = f.get_u32_opt(key("vocab_size")); v && static_cast<int>(*v) != a.vocab_size)
    throw err(key("vocab_size"), std::to_string(*v) + " but token_embd.weight has " + std::to_string(a.vocab_size) + " rows");
  a.tie_word_embeddings = f.find_tensor("output.weight") == nullptr;
  a.attention_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  a.mlp_bias = f.find_tensor("blk.0.ffn_up.bias") != nullptr;

  // RoPE scaling (llama.cpp LLM_KV_ROPE_SCALING_*; the older rope.scale_linear).
  std::string scaling = f.get_string_opt(key("rope.scaling.type")).value_or("none");
  double factor = f.get_f32_opt(key("rope.scaling.factor")).value_or(0.0f);
  if (auto lin = f.get_f32_opt(key("rope.scale_linear")); lin && scaling == "none") scaling = "linear", factor = *lin;
  if (scaling == "linear" && factor > 0 && factor != 1.0) {
    a.rope_scaling.type = "linear";
    a.rope_scaling.factor = factor;
  } else if (scaling == "yarn") {
    a.rope_scaling.type = "yarn";
    a.rope_scaling.factor = factor > 0 ? factor : 1.0;
    if (auto o = f.get_u32_opt(key("rope.scaling.original_context_length"))) a.rope_scaling.original_max_position_embeddings = *o;
    else throw err(key("rope.scaling.original_context_length"), "needed by yarn scaling");
  } else if (scaling != "none" && scaling != "linear") {
    throw err(key("rope.scaling.type"), "unsupported RoPE scaling \"" + scaling + "\" (supported: none, linear, yarn)");
  }
  // Llama 3.1's rope factors: llama.cpp divides each frequency by rope_freqs[i] (ggml_rope_ext freq_factors),
  // which is transformers' llama3 inv_freq written out; longrope with equal short and long factors and no
  // attention factor computes the same.
  if (const GgufTensor* rf = f.find_tensor("rope_freqs.weight")) {
    if (rf->type != GgmlType::F32 || rf->ne.size() != 1 || rf->ne[0] != static_cast<uint64_t>(a.head_dim / 2))
      throw Error(src + ": tensor 'rope_freqs.weight': expected F32 [" + std::to_string(a.head_dim / 2) + "]");
    if (a.rope_scaling.type != "default") throw Error(src + ": tensor 'rope_freqs.weight' together with " + scaling + " scaling");
    std::vector<double> factors(rf->ne[0]);
    for (size_t i = 0; i < factors.size(); ++i) {
      float v;
      std::memcpy(&v, rf->data + 4 * i, 4);
      factors[i] = v;
    }
    a.rope_scaling.type = "longrope";
    a.rope_scaling.short_factor = factors;
    a.rope_scaling.long_factor = std::move(factors);
    a.rope_scaling.attention_factor = 1.0;
    a.rope_scaling.original_max_position_embeddings = a.max_position_embeddings > 0 ? a.max_position_embeddings : 1;
  }

  if (auto b = f.get_u32_opt("tokenizer.ggml.bos_token_id")) a.bos_token_id = static_cast<int>(*b);
  for (const char* k : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"})
    if (auto e = f.get_u32_opt(k)) {
      const int id = static_cast<int>(*e);
      if (std::find(a.eos_token_ids.begin(), a.eos_token_ids.end(), id) == a.eos_token_ids.end()) a.eos_token_ids.push_back(id);
    }
  return a;
}

WeightSource WeightSource::gguf(std::shared_ptr<const GgufFile> file) {
  WeightSource s;
  s.label_ = file->path();
  s.views_only_ = true;
  for (const GgufTensor& t : file->tensors()) {
    if (t.name == "rope_freqs.weight") continue;  // read into ModelArgs by gguf_model_args
    const std::string hf = gguf_to_hf_name(t.name);
    TensorView v;
    v.data = t.data;
    for (auto it = t.ne.rbegin(); it != t.ne.rend(); ++it) v.shape.push_back(static_cast<int64_t>(*it));
    switch (t.type) {
      case GgmlType::F32: v.dtype = DType::F32; break;
      case GgmlType::F16: v.dtype = DType::F16; break;
      case GgmlType::BF16: v.dtype = DType::BF16; break;
      default:
        if (!is_block_type(t.type))
          throw Error(file->path() + ": tensor '" + t.name + "': ggml type " + ggml_type_name(t.type) +
                      " is not supported (supported: " + supported_types() + ")");
        if (t.ne.size() != 2)
          throw Error(file->path() + ": tensor '" + t.name + "': a " + ggml_type_name(t.type) + " tensor must be 2-D");
        v.dtype = DType::U8;
        v.shape = {static_cast<int64_t>(t.ne[1]), static_cast<int64_t>(t.nbytes / t.ne[1])};
        s.ggml_[hf] = GgmlWeight{static_cast<int>(t.type), static_cast<int64_t>(t.ne[0]), t.name};
    }
    s.views_[hf] = v;
  }
  s.gguf_ = std::move(file);
  return s;
}

std::string WeightSource::stored_name(const std::string& name) const { return gguf_ ? hf_to_gguf_name(name) : name; }

}  // namespace cpplm
