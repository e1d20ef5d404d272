// Shared helpers for the tokenizer tests: fixture paths, cached tokenizers, JSON loading.
#pragma once
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/json_file.h"
#include "tokenizer/tokenizer.h"

namespace cpplm::test {

inline std::string tokenizer_dir(const std::string& name) { return std::string(CPPLM_TOKENIZER_DATA) + "/" + name; }
inline std::string test_data(const std::string& rel) { return std::string(CPPLM_TEST_DATA) + "/" + rel; }
inline std::string bundled_model_dir() { return std::string(CPPLM_MODELS_DIR) + "/llama-6m-kjv-fortunes"; }

inline const nlohmann::json& load_json(const std::string& path) {
  static std::map<std::string, nlohmann::json> cache;
  auto it = cache.find(path);
  if (it == cache.end()) it = cache.emplace(path, parse_json_file(path)).first;
  return it->second;
}

// Tokenizers are loaded once per process (the Llama 3 one is 9 MB).
inline const Tokenizer& cached_tokenizer(const std::string& dir) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto it = cache.find(dir);
  if (it == cache.end()) it = cache.emplace(dir, Tokenizer::load(dir)).first;
  return *it->second;
}

inline std::string stream_decode(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
  StreamingDetokenizer d(tok, skip_special);
  std::string out;
  for (int32_t id : ids) out += d.add(id);
  return out + d.finish();
}

// Printable form of a string for failure messages.
inline std::string show(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace cpplm::test
