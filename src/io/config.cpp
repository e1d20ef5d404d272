// config.json -> ModelArgs, accepting both the classic (rope_theta + rope_scaling) and the
// transformers-5 (rope_parameters) forms.
#include "io/config.h"

#include "core/error.h"
#include "core/json_file.h"

namespace cpplm {
using nlohmann::json;

namespace {

class Reader {
 public:
  Reader(const json& j, std::string src) : j_(j), src_(std::move(src)) {}

  Error err(const std::string& field, const std::string& why) const {
    return Error(src_ + ": field \"" + field + "\": " + why);
  }
  const json* get(const char* key) const {
    auto it = j_.find(key);
    return (it == j_.end() || it->is_null()) ? nullptr : &*it;
  }
  int integer(const char* key, std::optional<int> def) const {
    const json* v = get(key);
    if (!v) {
      if (!def) throw err(key, "missing");
      return *def;
    }
    if (!v->is_number_integer() && !(v->is_number_float() && v->get<double>() == static_cast<int>(v->get<double>())))
      throw err(key, "expected an integer, got " + v->dump());
    return static_cast<int>(v->get<double>());
  }
  double number(const char* key, double def) const {
    const json* v = get(key);
    if (!v) return def;
    if (!v->is_number()) throw err(key, "expected a number, got " + v->dump());
    return v->get<double>();
  }
  bool boolean(const char* key, bool def) const {
    const json* v = get(key);
    if (!v) return def;
    if (!v->is_boolean()) throw err(key, "expected true or false, got " + v->dump());
    return v->get<bool>();
  }

 private:
  const json& j_;
  std::string src_;
};

std::vector<double> number_list(const json& v, const Reader& r, const std::string& field) {
  if (!v.is_array()) throw r.err(field, "expected a list of numbers");
  std::vector<double> out;
  for (const json& x : v) {
    if (!x.is_number()) throw r.err(field, "expected a list of numbers");
    out.push_back(x.get<double>());
  }
  return out;
}

RopeScaling parse_rope(const json& rs, const Reader& r, const std::string& field) {
  if (!rs.is_object()) throw r.err(field, "expected an object");
  auto sub = [&](const char* k) { return field + "." + k; };
  RopeScaling s;
  if (auto t = rs.find("rope_type"); t != rs.end() && t->is_string()) s.type = t->get<std::string>();
  else if (auto t2 = rs.find("type"); t2 != rs.end() && t2->is_string()) s.type = t2->get<std::string>();
  auto num = [&](const char* k) -> std::optional<double> {
    auto it = rs.find(k);
    if (it == rs.end() || it->is_null()) return std::nullopt;
    if (!it->is_number()) throw r.err(sub(k), "expected a number, got " + it->dump());
    return it->get<double>();
  };
  s.factor = num("factor").value_or(1.0);
  s.original_max_position_embeddings = num("original_max_position_embeddings");
  s.low_freq_factor = num("low_freq_factor").value_or(1.0);
  s.high_freq_factor = num("high_freq_factor").value_or(4.0);
  s.beta_fast = num("beta_fast");
  s.beta_slow = num("beta_slow");
  s.mscale = num("mscale");
  s.mscale_all_dim = num("mscale_all_dim");
  s.attention_factor = num("attention_factor");
  if (auto t = rs.find("truncate"); t != rs.end() && t->is_boolean()) s.truncate = t->get<bool>();
  if (auto f = rs.find("short_factor"); f != rs.end() && !f->is_null()) s.short_factor = number_list(*f, r, sub("short_factor"));
  if (auto f = rs.find("long_factor"); f != rs.end() && !f->is_null()) s.long_factor = number_list(*f, r, sub("long_factor"));
  return s;
}

std::optional<QuantSpec> parse_quant(const json& q, const Reader& r, const std::string& field) {
  if (q.is_boolean()) {
    if (q.get<bool>()) throw r.err(field, "true is not a quantization spec");
    return std::nullopt;
  }
  if (!q.is_object()) throw r.err(field, "expected an object with group_size and bits");
  QuantSpec s;
  auto gs = q.find("group_size");
  auto bits = q.find("bits");
  if (gs == q.end() || !gs->is_number_integer()) throw r.err(field + ".group_size", "missing or not an integer");
  if (bits == q.end() || !bits->is_number_integer()) throw r.err(field + ".bits", "missing or not an integer");
  s.group_size = gs->get<int>();
  s.bits = bits->get<int>();
  if (auto mode = q.find("mode"); mode != q.end() && !mode->is_null()) {
    if (!mode->is_string()) throw r.err(field + ".mode", "expected a string");
    s.mode = mode->get<std::string>();
    if (s.mode != "affine") throw r.err(field + ".mode", "'" + s.mode + "' is not supported (only mlx affine quantization)");
  }
  if (s.bits != 2 && s.bits != 3 && s.bits != 4 && s.bits != 5 && s.bits != 6 && s.bits != 8)
    throw r.err(field + ".bits", "must be 2, 3, 4, 5, 6 or 8, got " + std::to_string(s.bits));
  if (s.group_size <= 0 || s.group_size % 32 != 0)
    throw r.err(field + ".group_size", "must be a positive multiple of 32, got " + std::to_string(s.group_size));
  return s;
}

std::vector<int> int_or_list(const json* v, const Reader& r, const char* field) {
  std::vector<int> out;
  if (!v) return out;
  if (v->is_number_integer()) out.push_back(v->get<int>());
  else if (v->is_array()) {
    for (const json& x : *v) {
      if (!x.is_number_integer()) throw r.err(field, "expected integers");
      out.push_back(x.get<int>());
    }
  } else {
    throw r.err(field, "expected an integer or a list of integers");
  }
  return out;
}

}  // namespace

ModelArgs parse_model_args(const json& j, const std::string& source) {
  if (!j.is_object()) throw Error(source + ": not a JSON object");
  Reader r(j, source);
  ModelArgs a;
  const json* mt = r.get("model_type");
  if (!mt || !mt->is_string()) throw r.err("model_type", "missing or not a string");
  a.model_type = mt->get<std::string>();
  a.hidden_size = r.integer("hidden_size", std::nullopt);
  a.num_hidden_layers = r.integer("num_hidden_layers", std::nullopt);
  a.intermediate_size = r.integer("intermediate_size", std::nullopt);
  a.num_attention_heads = r.integer("num_attention_heads", std::nullopt);
  a.vocab_size = r.integer("vocab_size", std::nullopt);
  a.rms_norm_eps = r.number("rms_norm_eps", 1e-6);
  a.num_key_value_heads = r.integer("num_key_value_heads", a.num_attention_heads);
  a.head_dim = r.integer("head_dim", a.num_attention_heads > 0 ? a.hidden_size / a.num_attention_heads : 0);
  a.max_position_embeddings = r.integer("max_position_embeddings", 0);
  a.attention_bias = r.boolean("attention_bias", false);
  a.mlp_bias = r.boolean("mlp_bias", false);
  a.rope_traditional = r.boolean("rope_traditional", false);
  a.rope_theta = r.number("rope_theta", 10000.0);
  if (const json* rs = r.get("rope_scaling")) a.rope_scaling = parse_rope(*rs, r, "rope_scaling");
  if (const json* rp = r.get("rope_parameters")) {  // transformers 5: theta lives inside
    a.rope_scaling = parse_rope(*rp, r, "rope_parameters");
    if (auto t = rp->find("rope_theta"); t != rp->end() && t->is_number()) a.rope_theta = t->get<double>();
  }
  if (const json* t = r.get("tie_word_embeddings")) {
    if (!t->is_boolean()) throw r.err("tie_word_embeddings", "expected true or false");
    a.tie_word_embeddings = t->get<bool>();
  }
  if (const json* sw = r.get("sliding_window")) {
    if (!sw->is_number_integer() || sw->get<int>() <= 0) throw r.err("sliding_window", "expected a positive integer");
    a.sliding_window = sw->get<int>();
  }
  if (const json* lt = r.get("layer_types")) {
    if (!lt->is_array()) throw r.err("layer_types", "expected a list of strings");
    for (const json& x : *lt) {
      if (!x.is_string()) throw r.err("layer_types", "expected a list of strings");
      a.layer_types.push_back(x.get<std::string>());
    }
  }
  // mlx-lm writes "quantization" (and a copy as "quantization_config"); a quantization_config
  // with a quant_method (GPTQ, AWQ, bitsandbytes ...) is another format and is not read here.
  const json* q = r.get("quantization");
  if (!q) {
    q = r.get("quantization_config");
    if (q && q->is_object() && q->contains("quant_method")) q = nullptr;
  }
  if (q && q->is_object() && q->contains("bits")) {
    a.quantization = parse_quant(*q, r, "quantization");
    for (auto it = q->begin(); it != q->end(); ++it)
      if (it->is_object() || it->is_boolean()) a.quantization_overrides[it.key()] = parse_quant(*it, r, "quantization." + it.key());
  }
  a.eos_token_ids = int_or_list(r.get("eos_token_id"), r, "eos_token_id");
  if (const json* b = r.get("bos_token_id"); b && b->is_number_integer()) a.bos_token_id = b->get<int>();

  auto positive = [&](int v, const char* f) {
    if (v <= 0) throw r.err(f, "must be positive, got " + std::to_string(v));
    // Far above any real model; keeps a corrupt config from asking for absurd allocations.
    if (v > (1 << 24)) throw r.err(f, "implausibly large: " + std::to_string(v));
  };
  positive(a.hidden_size, "hidden_size");
  positive(a.num_hidden_layers, "num_hidden_layers");
  positive(a.intermediate_size, "intermediate_size");
  positive(a.num_attention_heads, "num_attention_heads");
  positive(a.num_key_value_heads, "num_key_value_heads");
  positive(a.vocab_size, "vocab_size");
  positive(a.head_dim, "head_dim");
  if (a.num_hidden_layers > 4096) throw r.err("num_hidden_layers", "implausibly large: " + std::to_string(a.num_hidden_layers));
  if (a.head_dim % 2 != 0) throw r.err("head_dim", "must be even for RoPE, got " + std::to_string(a.head_dim));
  if (a.num_attention_heads % a.num_key_value_heads != 0)
    throw r.err("num_key_value_heads", std::to_string(a.num_key_value_heads) + " does not divide num_attention_heads " +
                                           std::to_string(a.num_attention_heads));
  if (a.rms_norm_eps <= 0) throw r.err("rms_norm_eps", "must be positive");
  return a;
}

ModelArgs load_model_args(const std::string& config_path) {
  return parse_model_args(parse_json_file(config_path), config_path);
}

}  // namespace cpplm
