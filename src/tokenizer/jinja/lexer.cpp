// Tokenizer for templates: data/tag splitting as jinja2's Lexer.tokeniter, then expression tokens inside tags.
#include "tokenizer/jinja/lexer.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "tokenizer/jinja/unicode.h"

namespace cpplm::jinja {

SourceMap::SourceMap(std::string name, std::string_view src) : name_(std::move(name)), src_(src) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < src_.size(); ++i) if (src_[i] == '\n') line_starts_.push_back(i + 1);
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

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
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
  for (char32_t c : decode_utf8(s)) if (!py_isspace(c)) return false;
  return true;
}

class Lexer {
 public:
  Lexer(const std::string& src, const SourceMap& map) : src_(src), map_(map) {}
  std::vector<Token> run();

 private:
  [[noreturn]] void fail(size_t pos, const std::string& msg) const {
    throw Error(map_.where(pos) + ": " + msg);
  }
  bool at(size_t p, const char* s) const { return src_.compare(p, std::strlen(s), s) == 0; }
  void emit_data(std::string text, char sign, bool lstrip_allowed, size_t pos);
  size_t match_raw_begin(size_t p) const;
  void lex_comment(size_t open);
  void lex_raw(size_t body);
  void lex_tag(bool block, size_t open);
  bool lex_number(Token& t);
  void lex_string(Token& t);
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
  while (q < src_.size() && is_ascii_space(src_[q])) ++q;
  if (!at(q, "raw")) return 0;
  q += 3;
  while (q < src_.size() && is_ascii_space(src_[q])) ++q;
  if (at(q, "-%}")) {
    q += 3;
    while (q < src_.size() && is_ascii_space(src_[q])) ++q;
    return q;
  }
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
    while (pos_ < src_.size() && is_ascii_space(src_[pos_])) line_starting_ = src_[pos_++] == '\n';
    return true;
  }
  if (at(pos_, close)) {
    pos_ += n;
    line_starting_ = false;
    // trim_blocks=True: the first newline after a block or comment tag goes.
    if (block_like && pos_ < src_.size() && src_[pos_] == '\n') { ++pos_; line_starting_ = true; }
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
    while (p < src_.size() && is_ascii_space(src_[p])) ++p;
    if (!at(p, "endraw")) continue;
    p += 6;
    while (p < src_.size() && is_ascii_space(src_[p])) ++p;
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

// Length of `(\d+_)*\d+` at p (0 if none).
size_t scan_digits(const std::string& s, size_t p) {
  size_t q = p;
  if (q >= s.size() || !is_digit(s[q])) return 0;
  while (true) {
    while (q < s.size() && is_digit(s[q])) ++q;
    if (q + 1 < s.size() && s[q] == '_' && is_digit(s[q + 1])) { ++q; continue; }
    return q - p;
  }
}

std::string strip_underscores(std::string_view s) {
  std::string out;
  for (char c : s) if (c != '_') out.push_back(c);
  return out;
}

bool Lexer::lex_number(Token& t) {
  const size_t start = pos_;
  if (!is_digit(src_[start])) return false;
  // Float: digits, then (.digits)? e[+-]digits, or .digits (and not right after a '.').
  if (start == 0 || src_[start - 1] != '.') {
    const size_t a = start + scan_digits(src_, start);
    size_t frac_end = 0;
    if (a < src_.size() && src_[a] == '.') {
      const size_t n = scan_digits(src_, a + 1);
      if (n) frac_end = a + 1 + n;
    }
    auto exp_at = [&](size_t b) -> size_t {
      if (b >= src_.size() || (src_[b] != 'e' && src_[b] != 'E')) return 0;
      size_t d = b + 1;
      if (d < src_.size() && (src_[d] == '+' || src_[d] == '-')) ++d;
      const size_t n = scan_digits(src_, d);
      return n ? d + n : 0;
    };
    size_t end = frac_end ? exp_at(frac_end) : 0;
    if (!end) end = exp_at(a);
    if (!end) end = frac_end;
    if (end) {
      t.type = Tok::Float;
      t.fval = std::strtod(strip_underscores(std::string_view(src_).substr(start, end - start)).c_str(), nullptr);
      pos_ = end;
      return true;
    }
  }
  int base = 10;
  size_t p = start;
  if (src_[p] == '0' && p + 1 < src_.size()) {
    const char x = static_cast<char>(src_[p + 1] | 0x20);
    base = x == 'b' ? 2 : x == 'o' ? 8 : x == 'x' ? 16 : 10;
  }
  auto digit_ok = [&](char c) {
    if (base == 2) return c == '0' || c == '1';
    if (base == 8) return c >= '0' && c <= '7';
    if (base == 16) return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
    return is_digit(c);
  };
  size_t q = p;
  if (base != 10) {
    q = p + 2;
    while (q < src_.size()) {
      if (src_[q] == '_' && q + 1 < src_.size() && digit_ok(src_[q + 1])) q += 2;
      else if (digit_ok(src_[q])) ++q;
      else break;
    }
    if (q == p + 2) { base = 10; q = p; }  // "0x" without digits lexes as "0" then a name
  }
  if (base == 10) {
    const bool zero = src_[p] == '0';
    q = p + 1;
    while (q < src_.size()) {
      const bool ok = zero ? src_[q] == '0' : is_digit(src_[q]);
      const bool ok2 = q + 1 < src_.size() && (zero ? src_[q + 1] == '0' : is_digit(src_[q + 1]));
      if (src_[q] == '_' && ok2) q += 2;
      else if (ok) ++q;
      else break;
    }
  }
  const std::string digits = strip_underscores(std::string_view(src_).substr(base == 10 ? p : p + 2, q - (base == 10 ? p : p + 2)));
  int64_t v = 0;
  for (char c : digits) {
    const int d = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
    if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v)) {
      fail(start, "integer literal too large");
    }
  }
  t.type = Tok::Int;
  t.ival = v;
  pos_ = q;
  return true;
}

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  c = static_cast<char>(c | 0x20);
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

// Python's "unicode-escape" decoding of a literal body (after backslashreplace of non-ASCII).
void Lexer::lex_string(Token& t) {
  const size_t start = pos_;
  const char quote = src_[pos_++];
  std::u32string cps;
  size_t p = pos_;
  while (true) {
    if (p >= src_.size()) fail(start, "unterminated string literal");
    if (src_[p] == quote) break;
    p += src_[p] == '\\' ? 2 : 1;
  }
  const std::u32string body = decode_utf8(std::string_view(src_).substr(pos_, p - pos_));
  pos_ = p + 1;
  for (size_t i = 0; i < body.size(); ++i) {
    const char32_t c = body[i];
    if (c != '\\' || i + 1 >= body.size()) { cps.push_back(c); continue; }
    const char32_t e = body[++i];
    auto read_hex = [&](int n) -> char32_t {
      uint32_t v = 0;
      for (int k = 0; k < n; ++k) {
        const int h = (i + 1 < body.size() && body[i + 1] < 0x80) ? hex_value(static_cast<char>(body[i + 1])) : -1;
        if (h < 0) fail(start, "truncated \\" + std::string(1, static_cast<char>(e)) + " escape in string literal");
        v = v * 16 + static_cast<uint32_t>(h);
        ++i;
      }
      if (v > 0x10FFFF) fail(start, "illegal Unicode character in string literal");
      return v;
    };
    switch (e) {
      case '\n': break;
      case '\\': cps.push_back('\\'); break;
      case '\'': cps.push_back('\''); break;
      case '"': cps.push_back('"'); break;
      case 'a': cps.push_back(7); break;
      case 'b': cps.push_back(8); break;
      case 'f': cps.push_back(12); break;
      case 'n': cps.push_back('\n'); break;
      case 'r': cps.push_back('\r'); break;
      case 't': cps.push_back('\t'); break;
      case 'v': cps.push_back(11); break;
      case 'x': cps.push_back(read_hex(2)); break;
      case 'u': cps.push_back(read_hex(4)); break;
      case 'U': cps.push_back(read_hex(8)); break;
      case 'N': fail(start, "\\N{...} escapes are not supported");
      default:
        if (e >= '0' && e <= '7') {
          char32_t v = e - '0';
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k) {
            v = v * 8 + (body[++i] - '0');
          }
          cps.push_back(v);
        } else if (e >= 0x80) {
          // backslashreplace turned the character into an escape that the backslash then protects.
          char buf[16];
          std::snprintf(buf, sizeof(buf), e < 0x100 ? "\\x%02x" : e < 0x10000 ? "\\u%04x" : "\\U%08x",
                        static_cast<unsigned>(e));
          cps.push_back('\\');
          for (const char* b = buf; *b; ++b) cps.push_back(static_cast<unsigned char>(*b));
        } else {
          cps.push_back('\\');
          cps.push_back(e);
        }
    }
  }
  t.type = Tok::String;
  t.text = encode_utf8(cps);
}

void Lexer::lex_tag(bool block, size_t open) {
  std::string balance;
  while (true) {
    if (pos_ >= src_.size()) fail(open, block ? "unclosed '{%' tag" : "unclosed '{{' tag");
    if (balance.empty() && match_close(block ? "%}" : "}}", /*block_like=*/block)) {
      out_.push_back(Token{block ? Tok::BlockEnd : Tok::VarEnd, {}, 0, 0, pos_});
      return;
    }
    const char c = src_[pos_];
    if (is_ascii_space(c)) { ++pos_; continue; }
    Token t;
    t.pos = pos_;
    if (lex_number(t)) {
    } else if (is_name_start(c)) {
      const size_t s = pos_;
      while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
      t.type = Tok::Name;
      t.text = src_.substr(s, pos_ - s);
    } else if (c == '\'' || c == '"') {
      lex_string(t);
    } else {
      static const char* kTwo[] = {"//", "**", "==", "!=", ">=", "<="};
      t.type = Tok::Op;
      for (const char* op : kTwo) if (at(pos_, op)) t.text = op;
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

std::vector<Token> tokenize(const std::string& src, const SourceMap& map) {
  return Lexer(src, map).run();
}

}  // namespace cpplm::jinja
