// Jinja lexer with jinja2's whitespace rules (trim_blocks, lstrip_blocks, "-"/"+" markers) as Hugging Face configures them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cpplm::jinja {

enum class Tok : uint8_t { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
  Tok type = Tok::Eof;
  std::string text;  // data, name, operator, or the unescaped string literal
  int64_t ival = 0;
  double fval = 0;
  size_t pos = 0;  // byte offset in the normalized source
};

// Maps byte offsets of the normalized source to "line:col" (1-based; columns count code points).
class SourceMap {
 public:
  SourceMap() = default;
  explicit SourceMap(std::string name, std::string_view src);
  std::string where(size_t pos) const;  // "name:line:col"
 private:
  std::string name_;
  std::string src_;
  std::vector<size_t> line_starts_;
};

// jinja2 reads templates with newlines normalized to "\n" and one trailing newline dropped.
std::string normalize_source(std::string_view source);

// Tokenizes a normalized source; throws cpplm::Error("name:line:col: ...") on lexical errors.
std::vector<Token> tokenize(const std::string& src, const SourceMap& map);

}  // namespace cpplm::jinja
