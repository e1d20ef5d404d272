// config.json -> ModelArgs, accepting both the classic (rope_theta + rope_scaling) and the
// transformers-5 (rope_parameters) forms.
#include "io/config.h"

#include <cmath>
#include <cstdint>
#include <cstdio>

#include "core/error.h"
#include "core/json_file.h"

namespace cpplm {
using nlohmann::json;

namespace {

// A number as a message shows it (json's dump() writes non-finite doubles as null).
std::string show(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char b[32];
  std::snprintf(b, sizeof b, "%.10g", v);
  return b;
}

class Reader {
 public:
  Reader(const json& j, std::string src) : j_(j), src_(std::move(src)) {}

  Error err(const std::string& field, const std::string& why) const { return Error(src_ + ": field \"" + field + "\": " + why); }
  const json* get(const char* key) const {
    auto it = j_.find(key);
    return (it == j_.end() || it->is_null()) ? nullptr : &*it;
  }
  // An integer in [lo, hi] (a float with an integral value counts: some exporters write 4096.0).
  // Read as int64, so that an overflowing size is reported as given, not wrapped around.
  int64_t integer(const json& v, const std::string& field, int64_t lo, int64_t hi) const {
    const double d = v.is_number() ? v.get<double>() : 0;
    const std::string shown = v.is_number_float() ? show(d) : v.dump();
    if (!v.is_number_integer() && !(v.is_number_float() && std::isfinite(d) && d == std::trunc(d)))
      throw err(field, "expected an integer, got " + shown);
    const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)
                                             : v.is_number_integer() || std::fabs(d) < 0x1p63;
    const int64_t x = !fits ? 0 : v.is_number_float() ? static_cast<int64_t>(d) : v.get<int64_t>();
    if (!fits || x < lo || x > hi)
      throw err(field, shown + " is out of range (" + std::to_string(lo) + " .. " + std::to_string(hi) + ")");
    return x;
  }
  int integer(const char* key, std::optional<int> def, int64_t lo, int64_t hi) const {
    const json* v = get(key);
    if (!v) {
      if (!def) throw err(key, "missing");
      return *def;
    }
    return static_cast<int>(integer(*v, key, lo, hi));
  }
  double number(const char* key, double def) const {
    const json* v = get(key);
    if (!v) return def;
    if (!v->is_number()) throw err(key, "expected a number, got " + v->dump());
    return v->get<double>();
  }
  // RoPE, norms: a value <= 0 or non-finite gives NaN or infinite activations, not a model.
  void positive(double v, const std::string& field) const {
    if (!(v > 0) || !std::isfinite(v)) throw err(field, "must be a positive finite number, got " + show(v));
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
    const double v = it->get<double>();
    if (!std::isfinite(v)) throw r.err(sub(k), "must be a finite number, got " + show(v));
    return v;
  };
  s.factor = num("factor").value_or(1.0);
  r.positive(s.factor, sub("factor"));  // frequencies are divided by it
  if (auto it = rs.find("original_max_position_embeddings"); it != rs.end() && !it->is_null())
    s.original_max_position_embeddings =
        static_cast<double>(r.integer(*it, sub("original_max_position_embeddings"), 1, INT32_MAX));
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
  for (double f : s.short_factor) r.positive(f, sub("short_factor"));
  for (double f : s.long_factor) r.positive(f, sub("long_factor"));
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
  s.group_size = static_cast<int>(r.integer(*gs, field + ".group_size", INT32_MIN, INT32_MAX));
  s.bits = static_cast<int>(r.integer(*bits, field + ".bits", INT32_MIN, INT32_MAX));
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
  if (v->is_number_integer()) out.push_back(static_cast<int>(r.integer(*v, field, INT32_MIN, INT32_MAX)));
  else if (v->is_array()) {
    for (const json& x : *v) {
      if (!x.is_number_integer()) throw r.err(field, "expected integers");
      out.push_back(static_cast<int>(r.integer(x, field, INT32_MIN, INT32_MAX)));
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
  // Far above any real model; keeps a corrupt config from asking for absurd allocations.
  constexpr int64_t kMaxSize = 1 << 24;
  a.hidden_size = r.integer("hidden_size", std::nullopt, 1, kMaxSize);
  a.num_hidden_layers = r.integer("num_hidden_layers", std::nullopt, 1, 4096);
  a.intermediate_size = r.integer("intermediate_size", std::nullopt, 1, kMaxSize);
  a.num_attention_heads = r.integer("num_attention_heads", std::nullopt, 1, kMaxSize);
  a.vocab_size = r.integer("vocab_size", std::nullopt, 1, kMaxSize);
  a.rms_norm_eps = r.number("rms_norm_eps", 1e-6);
  a.num_key_value_heads = r.integer("num_key_value_heads", a.num_attention_heads, 1, kMaxSize);
  // Absent, head_dim is hidden_size // num_attention_heads (transformers' LlamaConfig floors too).
  a.head_dim = r.integer("head_dim", a.hidden_size / a.num_attention_heads, 1, kMaxSize);
  a.max_position_embeddings = r.integer("max_position_embeddings", 0, 0, INT32_MAX);
  a.attention_bias = r.boolean("attention_bias", false);
  a.mlp_bias = r.boolean("mlp_bias", false);
  a.rope_traditional = r.boolean("rope_traditional", false);
  a.rope_theta = r.number("rope_theta", 10000.0);
  std::string theta_field = "rope_theta";
  if (const json* rs = r.get("rope_scaling")) a.rope_scaling = parse_rope(*rs, r, "rope_scaling");
  if (const json* rp = r.get("rope_parameters")) {  // transformers 5: theta lives inside
    a.rope_scaling = parse_rope(*rp, r, "rope_parameters");
    if (auto t = rp->find("rope_theta"); t != rp->end() && !t->is_null()) {
      if (!t->is_number()) throw r.err("rope_parameters.rope_theta", "expected a number, got " + t->dump());
      a.rope_theta = t->get<double>();
      theta_field = "rope_parameters.rope_theta";
    }
  }
  r.positive(a.rope_theta, theta_field);  // base^(-2i/d): a base <= 0 gives NaN frequencies
  if (const json* t = r.get("tie_word_embeddings")) {
    if (!t->is_boolean()) throw r.err("tie_word_embeddings", "expected true or false");
    a.tie_word_embeddings = t->get<bool>();
  }
  if (const json* sw = r.get("sliding_window"))
    a.sliding_window = static_cast<int>(r.integer(*sw, "sliding_window", 1, INT32_MAX));
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
      if (it->is_object() || it->is_boolean())
        a.quantization_overrides[it.key()] = parse_quant(*it, r, "quantization." + it.key());
  }
  a.eos_token_ids = int_or_list(r.get("eos_token_id"), r, "eos_token_id");
  if (const json* b = r.get("bos_token_id"); b && b->is_number_integer())
    a.bos_token_id = static_cast<int>(r.integer(*b, "bos_token_id", INT32_MIN, INT32_MAX));

  if (a.head_dim % 2 != 0) throw r.err("head_dim", "must be even for RoPE (it rotates pairs), got " + std::to_string(a.head_dim));
  if (a.num_attention_heads % a.num_key_value_heads != 0)
    throw r.err("num_key_value_heads", std::to_string(a.num_key_value_heads) + " does not divide num_attention_heads " +
                                           std::to_string(a.num_attention_heads));
  // Projection widths are ints in the forward passes: q, and q, k and v stacked (the GPU's fused qkv).
  const int64_t qkv_width = (int64_t{a.num_attention_heads} + 2 * int64_t{a.num_key_value_heads}) * a.head_dim;
  if (qkv_width > INT32_MAX)
    throw r.err("head_dim", "(num_attention_heads " + std::to_string(a.num_attention_heads) + " + 2 x num_key_value_heads " +
                                std::to_string(a.num_key_value_heads) + ") x head_dim " + std::to_string(a.head_dim) + " = " +
                                std::to_string(qkv_width) + " overflows 32 bits");
  r.positive(a.rms_norm_eps, "rms_norm_eps");  // x / sqrt(mean(x^2) + eps)
  return a;
}

ModelArgs load_model_args(const std::string& config_path) { return parse_model_args(parse_json_file(config_path), config_path); }

}  // namespace cpplm
