// Prompt cache files: save_prompt_cache / load_prompt_cache (prompt_cache_file.h).
#include "runtime/prompt_cache_file.h"

#include <map>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "io/safetensors_writer.h"

namespace cpplm {
namespace {

constexpr const char* kFormat = "cpplm-prompt-cache";

std::map<std::string, std::string> shape_of(const ModelArgs& a) {
  return {{"model_type", a.model_type},
          {"num_hidden_layers", std::to_string(a.num_hidden_layers)},
          {"num_key_value_heads", std::to_string(a.num_key_value_heads)},
          {"head_dim", std::to_string(a.head_dim)},
          {"vocab_size", std::to_string(a.vocab_size)}};
}

std::string layer_name(int i, const char* what) { return "layers." + std::to_string(i) + "." + what; }

// The tokens of an open prompt cache file, once its metadata fits `a`.
std::vector<int32_t> checked_tokens(const SafetensorsFile& f, const std::string& path, const ModelArgs& a) {
  const auto& meta = f.metadata();
  auto get = [&](const std::string& key) {
    auto it = meta.find(key);
    if (it == meta.end()) throw Error(path + ": not a prompt cache file (no \"" + key + "\" in its metadata)");
    return it->second;
  };
  if (get("format") != kFormat) throw Error(path + ": not a prompt cache file (format \"" + get("format") + "\")");
  if (get("version") != "1") throw Error(path + ": prompt cache version " + get("version") + " is not supported (1 is)");
  for (const auto& [key, want] : shape_of(a))
    if (get(key) != want) throw Error(path + ": made for another model: " + key + " " + get(key) + ", this model has " + want);
  std::vector<int32_t> tokens;
  nlohmann::json toks = nlohmann::json::parse(get("tokens"), nullptr, /*allow_exceptions=*/false);
  if (!toks.is_array() || toks.empty()) throw Error(path + ": \"tokens\" in its metadata is not a non-empty JSON array");
  for (const auto& t : toks) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= a.vocab_size)
      throw Error(path + ": \"tokens\" holds " + t.dump() + ", not a token id of this model (vocabulary " +
                  std::to_string(a.vocab_size) + ")");
    tokens.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  return tokens;
}

}  // namespace

void save_prompt_cache(const std::string& path, const LanguageModel& model, const PromptCache& c) {
  if (!c.state || c.state->offset() == 0) throw Error(path + ": no prompt ran: nothing to save");
  const ModelArgs& a = model.args();
  const int n = c.state->offset();
  if (static_cast<int>(c.tokens.size()) != n)
    throw Error(path + ": the cache holds " + std::to_string(n) + " positions but " + std::to_string(c.tokens.size()) +
                " tokens");
  std::vector<std::vector<float>> kv(2 * static_cast<size_t>(a.num_hidden_layers));
  std::map<std::string, TensorView> tensors;
  const Shape shape{n, a.num_key_value_heads, a.head_dim};
  for (int i = 0; i < a.num_hidden_layers; ++i) {
    try {
      c.state->read_layer(i, kv[2 * i], kv[2 * i + 1]);
    } catch (const Error& e) {
      throw Error(path + ": cannot save the prompt cache: " + e.what());
    }
    tensors[layer_name(i, "keys")] = {kv[2 * i].data(), DType::F32, shape};
    tensors[layer_name(i, "values")] = {kv[2 * i + 1].data(), DType::F32, shape};
  }
  std::map<std::string, std::string> meta = shape_of(a);
  meta["format"] = kFormat;
  meta["version"] = "1";
  meta["tokens"] = nlohmann::json(c.tokens).dump();
  meta["kv_dtype"] = c.state->kv_dtype();
  save_safetensors(path, tensors, meta);
}

std::vector<int32_t> prompt_cache_file_tokens(const std::string& path, const ModelArgs& args) {
  return checked_tokens(SafetensorsFile(path), path, args);
}

PromptCache load_prompt_cache(const std::string& path, LanguageModel& model, const CacheOptions& opts) {
  SafetensorsFile f(path);  // validates the header and sizes, naming the file
  const ModelArgs& a = model.args();
  PromptCache c;
  c.tokens = checked_tokens(f, path, a);
  const int n = static_cast<int>(c.tokens.size());
  const Shape shape{n, a.num_key_value_heads, a.head_dim};
  if (f.tensors().size() != 2 * static_cast<size_t>(a.num_hidden_layers))
    throw Error(path + ": holds " + std::to_string(f.tensors().size()) + " tensors, expected " +
                std::to_string(2 * a.num_hidden_layers) + " (keys and values of every layer)");
  c.state = model.make_sequence(opts);
  for (int i = 0; i < a.num_hidden_layers; ++i) {
    const TensorView* kv[2];
    for (int j = 0; j < 2; ++j) {
      const std::string name = layer_name(i, j ? "values" : "keys");
      auto it = f.tensors().find(name);
      if (it == f.tensors().end()) throw Error(path + ": tensor " + name + " is missing");
      if (it->second.dtype != DType::F32 || it->second.shape != shape)
        throw Error(path + ": tensor " + name + " is not f32 [" + std::to_string(n) + ", " +
                    std::to_string(a.num_key_value_heads) + ", " + std::to_string(a.head_dim) + "]");
      kv[j] = &it->second;
    }
    try {
      c.state->append_layer(i, kv[0]->as<float>(), kv[1]->as<float>(), n);
    } catch (const Error& e) {
      throw Error(path + ": cannot load the prompt cache: " + e.what());
    }
  }
  if (c.state->offset() != n)
    throw Error(path + ": the loaded cache holds " + std::to_string(c.state->offset()) + " positions, not " + std::to_string(n));
  return c;
}

}  // namespace cpplm
