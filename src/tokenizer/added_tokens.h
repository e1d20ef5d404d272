// Added tokens (HF tokenizers tokenizer/added_vocabulary.rs): special and user tokens matched
// inside text, leftmost-longest, with the lstrip / rstrip / single_word / normalized flags.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cpplm::tok {

class Normalizer;

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

class AddedVocabulary {
 public:
  // Adds or replaces (by id) a token. Call build() before split().
  void add(AddedToken token);
  // Prepares the matchers; normalized tokens are matched in their normalized form.
  void build(const Normalizer* normalizer);

  struct Piece {
    size_t begin, end;  // byte range in the split text
    int32_t id;         // -1 for plain text
  };
  // Splits s into plain-text pieces and added tokens; the pieces cover s in order.
  // normalized selects which tokens to look for (normalized=false ones on raw text).
  void split(std::string_view s, bool normalized, std::vector<Piece>& out) const;

  const AddedToken* by_id(int32_t id) const;
  std::optional<int32_t> by_content(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  int32_t max_id() const;

 private:
  struct Matcher {
    // Token indices bucketed by first byte, longest content first.
    std::array<std::vector<int32_t>, 256> buckets;
    std::vector<std::string> patterns;  // by token index (normalized content for the second matcher)
    bool any = false;
  };
  void build_matcher(Matcher& m, bool normalized, const Normalizer* normalizer);

  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> index_by_id_;
  std::unordered_map<std::string, int32_t> id_by_content_;
  Matcher raw_, normalized_;
};

}  // namespace cpplm::tok
