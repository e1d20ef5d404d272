// The stages of the tokenizer.json pipeline (HF tokenizers): normalizer → pre-tokenizer →
// model (bpe.h) → post-processor, and the decoder. Each is built from its JSON object.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace cpplm::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Rewrites s (valid UTF-8) in place.
  virtual void normalize(std::string& s) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits and rewrites the pieces in place; empty pieces are dropped. first_at_start says
  // whether pieces[0] begins at offset 0 of the original input (Metaspace prepend_scheme "first").
  virtual void pre_tokenize(std::vector<std::string>& pieces, bool first_at_start) const = 0;
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Adds the special tokens of a single sequence (called only when add_special_tokens is on).
  virtual void process(std::vector<int32_t>& ids) const = 0;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Rewrites the token strings; the final text is their concatenation.
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

// Factories: `where` names the file for error messages. A JSON null gives nullptr;
// an unknown "type" throws cpplm::Error naming it.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const std::string& where);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j, const std::string& where);
std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& j, const std::string& where);
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j, const std::string& where);

// Builders used when there is no tokenizer.json (SentencePiece models, config overrides).
// prepend_scheme: "always", "first" or "never" (split=false, as LlamaTokenizer builds it).
std::unique_ptr<PreTokenizer> make_metaspace(const std::string& replacement, const std::string& prepend_scheme);
std::unique_ptr<PostProcessor> make_template(const std::vector<int32_t>& before, const std::vector<int32_t>& after);
std::unique_ptr<Decoder> make_sentencepiece_decoder(bool strip_leading_space);

// Reads j[key] as type T, or returns fallback when absent or null; a present value of the
// wrong type throws cpplm::Error naming where/what.key.
template <typename T>
T json_get(const nlohmann::json& j, const char* key, T fallback, const std::string& where, const std::string& what) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(where + ": " + what + "." + key + " has the wrong type: " + it->dump());
  }
}

// The "type" string of a component object; throws naming where/what when missing.
std::string component_type(const nlohmann::json& j, const std::string& where, const std::string& what);

// Pattern objects {"String": s} or {"Regex": r}: true and the text for Regex.
struct PatternSpec {
  bool is_regex = false;
  std::string text;
};
PatternSpec pattern_spec(const nlohmann::json& j, const std::string& where, const std::string& what);

}  // namespace cpplm::tok
