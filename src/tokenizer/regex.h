// PCRE2 regex (JIT, UTF + UCP) used by Split pre-tokenizers and Replace normalizers.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;

namespace cpplm::tok {

class Regex {
 public:
  // Compiles pattern (Oniguruma/HF syntax is close enough to PCRE2 for tokenizer regexes).
  // Throws cpplm::Error naming the pattern when it does not compile.
  explicit Regex(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends the [begin, end) byte ranges of all non-overlapping, non-empty matches in s,
  // which must be valid UTF-8.
  void find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const;

  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  pcre2_real_code_8* code_ = nullptr;
};

}  // namespace cpplm::tok
