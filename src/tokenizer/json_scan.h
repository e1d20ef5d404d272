// Loading tokenizer.json quickly: the large model.vocab / model.merges are scanned by hand,
// the rest of the document goes through nlohmann::json.
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace cpplm::tok {

// The strings are views into the parsed text (kept alive by the caller) or into `storage`
// (strings that had JSON escapes).
struct TokenizerJson {
  nlohmann::json doc;                                                 // the document with model.vocab / model.merges emptied
  std::vector<std::pair<std::string_view, int64_t>> vocab;            // model.vocab, file order
  std::vector<std::pair<std::string_view, std::string_view>> merges;  // "a b" or ["a", "b"]
  std::deque<std::string> storage;
};

// Parses tokenizer.json text, which must outlive the result. Throws cpplm::Error naming `path`
// on invalid JSON or on a vocab / merges entry of the wrong shape.
TokenizerJson parse_tokenizer_json(std::string_view text, const std::string& path);

}  // namespace cpplm::tok
