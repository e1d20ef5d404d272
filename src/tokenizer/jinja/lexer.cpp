// Tokenizer for templates: data/tag splitting as jinja2's Lexer.tokeniter, then expression tokens inside tags.
#include "tokenizer/jinja/lexer.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "tokenizer/jinja/lexer_literals.h"
#include "tokenizer/jinja/unicode.h"

namespace cpplm::jinja {

SourceMap::SourceMap(std::string name, std::string_view src) : name_(std::move(name)), src_(src) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < src_.size(); ++i)
    if (src_[i] == '\n') line_starts_.push_back(i + 1);
}

std::string SourceMap::where(size_t pos) const {
  if (line_starts_.empty()) return name_ + ":1:1";
  pos = std::min(pos, src_.size());
  size_t line = 0;
  while (line + 1 < line_starts_.size() && line_starts_[line + 1] <= pos) ++line;
  const size_t col = count_code_points(std::string_view(src_).substr(line_starts_[line], pos - line_starts_[line]));
  return name_ + ":" + std::to_string(line + 1) + ":" + std::to_string(col + 1);
}

std::string normalize_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out.push_back(source[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();  // keep_trailing_newline=False
  return out;
}

namespace {

// Byte length of the Python whitespace character (regex \s, str.isspace) at p, or 0.
size_t space_at(const std::string& s, size_t p) {
  if (p >= s.size()) return 0;
  const auto b = static_cast<unsigned char>(s[p]);
  if (b < 0x80) return py_isspace(b) ? 1 : 0;
  const size_t len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
  const std::u32string cp = decode_utf8(std::string_view(s).substr(p, len));
  return (cp.size() == 1 && py_isspace(cp[0])) ? len : 0;
}

// End of the whitespace run starting at p.
size_t skip_space(const std::string& s, size_t p) {
  while (size_t n = space_at(s, p)) p += n;
  return p;
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// Python str.rstrip() on UTF-8 text.
std::string rstrip_py(const std::string& s) {
  std::u32string cps = decode_utf8(s);
  while (!cps.empty() && py_isspace(cps.back())) cps.pop_back();
  return encode_utf8(cps);
}

bool all_py_space(std::string_view s) {
  if (s.empty()) return false;  // jinja2 uses \s+ (at least one)
  for (char32_t c : decode_utf8(s))
    if (!py_isspace(c)) return false;
  return true;
}

class Lexer {
 public:
  Lexer(const std::string& src, const SourceMap& map) : src_(src), map_(map) {}
  std::vector<Token> run();

 private:
  [[noreturn]] void fail(size_t pos, const std::string& msg) const { throw Error(map_.where(pos) + ": " + msg); }
  bool at(size_t p, const char* s) const { return src_.compare(p, std::strlen(s), s) == 0; }
  void emit_data(std::string text, char sign, bool lstrip_allowed, size_t pos);
  size_t match_raw_begin(size_t p) const;
  void lex_comment(size_t open);
  void lex_raw(size_t body);
  void lex_tag(bool block, size_t open);
  // Consumes a tag close at pos_ ("+%}", "-%}\s*", "%}\n?" or "-}}\s*", "}}"); false if none.
  bool match_close(const char* close, bool block_like);

  const std::string& src_;
  const SourceMap& map_;
  std::vector<Token> out_;
  size_t pos_ = 0;
  bool line_starting_ = true;
};

void Lexer::emit_data(std::string text, char sign, bool lstrip_allowed, size_t pos) {
  if (sign == '-') {
    text = rstrip_py(text);
  } else if (sign != '+' && lstrip_allowed) {
    const size_t nl = text.rfind('\n');
    const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
    if ((l_pos > 0 || line_starting_) && all_py_space(std::string_view(text).substr(l_pos))) {
      text.resize(l_pos);
    }
  }
  if (!text.empty()) out_.push_back(Token{Tok::Data, std::move(text), 0, 0, pos});
}

// Returns the end of "{%[-+]?\s*raw\s*(-%}\s*|%})" starting at p, or 0.
size_t Lexer::match_raw_begin(size_t p) const {
  size_t q = p + 2;
  if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) ++q;
  q = skip_space(src_, q);
  if (!at(q, "raw")) return 0;
  q = skip_space(src_, q + 3);
  if (at(q, "-%}")) return skip_space(src_, q + 3);
  return at(q, "%}") ? q + 2 : 0;
}

bool Lexer::match_close(const char* close, bool block_like) {
  if (pos_ >= src_.size()) return false;
  const size_t n = std::strlen(close);
  if (block_like && src_[pos_] == '+' && at(pos_ + 1, close)) {
    pos_ += 1 + n;
    line_starting_ = false;
    return true;
  }
  if (src_[pos_] == '-' && at(pos_ + 1, close)) {
    pos_ += 1 + n;
    line_starting_ = false;
    const size_t end = skip_space(src_, pos_);
    if (end > pos_) line_starting_ = src_[end - 1] == '\n';
    pos_ = end;
    return true;
  }
  if (at(pos_, close)) {
    pos_ += n;
    line_starting_ = false;
    // trim_blocks=True: the first newline after a block or comment tag goes.
    if (block_like && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
      line_starting_ = true;
    }
    return true;
  }
  return false;
}

void Lexer::lex_comment(size_t open) {
  const size_t q = src_.find("#}", pos_);
  if (q == std::string::npos) fail(open, "missing end of comment tag");
  // "+#}" / "-#}" start one character earlier when the sign lies inside the comment.
  pos_ = (q > pos_ && (src_[q - 1] == '-' || src_[q - 1] == '+')) ? q - 1 : q;
  if (!match_close("#}", /*block_like=*/true)) fail(open, "missing end of comment tag");
}

void Lexer::lex_raw(size_t body) {
  const bool body_line_starting = line_starting_;
  size_t search = body;
  while (true) {
    const size_t q = src_.find("{%", search);
    if (q == std::string::npos) fail(body, "missing end of raw directive");
    search = q + 2;
    size_t p = q + 2;
    char sign = 0;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
    p = skip_space(src_, p);
    if (!at(p, "endraw")) continue;
    p = skip_space(src_, p + 6);
    pos_ = p;
    if (!match_close("%}", /*block_like=*/true)) continue;
    const size_t end = pos_;
    const bool after = line_starting_;
    line_starting_ = body_line_starting;
    emit_data(src_.substr(body, q - body), sign, /*lstrip_allowed=*/true, body);
    line_starting_ = after;
    pos_ = end;
    return;
  }
}

void Lexer::lex_tag(bool block, size_t open) {
  std::string balance;
  while (true) {
    if (pos_ >= src_.size()) fail(open, block ? "unclosed '{%' tag" : "unclosed '{{' tag");
    const size_t close_pos = pos_;
    if (balance.empty() && match_close(block ? "%}" : "}}", /*block_like=*/block)) {
      out_.push_back(Token{block ? Tok::BlockEnd : Tok::VarEnd, {}, 0, 0, close_pos});
      return;
    }
    const char c = src_[pos_];
    if (const size_t n = space_at(src_, pos_)) {
      pos_ += n;
      continue;
    }
    Token t;
    t.pos = pos_;
    if (scan_number(src_, pos_, t, map_)) {
    } else if (is_name_start(c)) {
      const size_t s = pos_;
      while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
      t.type = Tok::Name;
      t.text = src_.substr(s, pos_ - s);
    } else if (c == '\'' || c == '"') {
      scan_string(src_, pos_, t, map_);
    } else {
      static const char* kTwo[] = {"//", "**", "==", "!=", ">=", "<="};
      t.type = Tok::Op;
      for (const char* op : kTwo)
        if (at(pos_, op)) t.text = op;
      if (t.text.empty()) {
        if (!std::strchr("+-/*%~[](){}<>=.,:|;", c) || c == 0) {
          fail(pos_, "unexpected character '" + std::string(1, c) + "'");
        }
        t.text = std::string(1, c);
      }
      pos_ += t.text.size();
      if (c == '(' || c == '[' || c == '{') {
        balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
      } else if (c == ')' || c == ']' || c == '}') {
        if (balance.empty()) fail(t.pos, "unexpected '" + t.text + "'");
        if (balance.back() != c) fail(t.pos, "unexpected '" + t.text + "', expected '" + std::string(1, balance.back()) + "'");
        balance.pop_back();
      }
    }
    out_.push_back(std::move(t));
  }
}

std::vector<Token> Lexer::run() {
  while (pos_ < src_.size()) {
    size_t q = pos_;
    while ((q = src_.find('{', q)) != std::string::npos) {
      if (q + 1 < src_.size() && (src_[q + 1] == '{' || src_[q + 1] == '%' || src_[q + 1] == '#')) break;
      ++q;
    }
    if (q == std::string::npos) {
      out_.push_back(Token{Tok::Data, src_.substr(pos_), 0, 0, pos_});
      break;
    }
    const char kind = src_[q + 1];
    size_t p = q + 2;
    char sign = 0;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
    const size_t raw_end = kind == '%' ? match_raw_begin(q) : 0;
    emit_data(src_.substr(pos_, q - pos_), sign, /*lstrip_allowed=*/kind != '{', pos_);
    line_starting_ = false;
    if (raw_end) {
      line_starting_ = src_[raw_end - 1] == '\n';
      pos_ = raw_end;
      lex_raw(raw_end);
      continue;
    }
    pos_ = p;
    if (kind == '#') {
      lex_comment(q);
    } else {
      out_.push_back(Token{kind == '%' ? Tok::BlockBegin : Tok::VarBegin, {}, 0, 0, q});
      lex_tag(kind == '%', q);
    }
  }
  out_.push_back(Token{Tok::Eof, {}, 0, 0, src_.size()});
  return std::move(out_);
}

}  // namespace

std::vector<Token> tokenize(const std::string& src, const SourceMap& map) { return Lexer(src, map).run(); }

}  // namespace cpplm::jinja
