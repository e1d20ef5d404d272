// Number and string literals inside tags: jinja2's integer/float regexes and Python's unicode-escape decoding.
#include "tokenizer/jinja/lexer_literals.h"

#include <cstdio>
#include <cstdlib>

#include "core/error.h"
#include "tokenizer/jinja/unicode.h"

namespace cpplm::jinja {

namespace {

[[noreturn]] void fail(const SourceMap& map, size_t pos, const std::string& msg) { throw Error(map.where(pos) + ": " + msg); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of `(\d+_)*\d+` at p (0 if none).
size_t scan_digits(const std::string& s, size_t p) {
  size_t q = p;
  if (q >= s.size() || !is_digit(s[q])) return 0;
  while (true) {
    while (q < s.size() && is_digit(s[q])) ++q;
    if (q + 1 < s.size() && s[q] == '_' && is_digit(s[q + 1])) {
      ++q;
      continue;
    }
    return q - p;
  }
}

std::string strip_underscores(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != '_') out.push_back(c);
  return out;
}

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  c = static_cast<char>(c | 0x20);
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

}  // namespace

bool scan_number(const std::string& src, size_t& pos, Token& t, const SourceMap& map) {
  const size_t start = pos;
  if (!is_digit(src[start])) return false;
  // Float: digits, then (.digits)? e[+-]digits, or .digits (and not right after a '.').
  if (start == 0 || src[start - 1] != '.') {
    const size_t a = start + scan_digits(src, start);
    size_t frac_end = 0;
    if (a < src.size() && src[a] == '.') {
      const size_t n = scan_digits(src, a + 1);
      if (n) frac_end = a + 1 + n;
    }
    auto exp_at = [&](size_t b) -> size_t {
      if (b >= src.size() || (src[b] != 'e' && src[b] != 'E')) return 0;
      size_t d = b + 1;
      if (d < src.size() && (src[d] == '+' || src[d] == '-')) ++d;
      const size_t n = scan_digits(src, d);
      return n ? d + n : 0;
    };
    size_t end = frac_end ? exp_at(frac_end) : 0;
    if (!end) end = exp_at(a);
    if (!end) end = frac_end;
    if (end) {
      t.type = Tok::Float;
      t.fval = std::strtod(strip_underscores(std::string_view(src).substr(start, end - start)).c_str(), nullptr);
      pos = end;
      return true;
    }
  }
  int base = 10;
  size_t p = start;
  if (src[p] == '0' && p + 1 < src.size()) {
    const char x = static_cast<char>(src[p + 1] | 0x20);
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
    while (q < src.size()) {
      if (src[q] == '_' && q + 1 < src.size() && digit_ok(src[q + 1])) q += 2;
      else if (digit_ok(src[q])) ++q;
      else break;
    }
    if (q == p + 2) {
      base = 10;
      q = p;
    }  // "0x" without digits lexes as "0" then a name
  }
  if (base == 10) {
    const bool zero = src[p] == '0';
    q = p + 1;
    while (q < src.size()) {
      const bool ok = zero ? src[q] == '0' : is_digit(src[q]);
      const bool ok2 = q + 1 < src.size() && (zero ? src[q + 1] == '0' : is_digit(src[q + 1]));
      if (src[q] == '_' && ok2) q += 2;
      else if (ok) ++q;
      else break;
    }
  }
  const std::string digits =
      strip_underscores(std::string_view(src).substr(base == 10 ? p : p + 2, q - (base == 10 ? p : p + 2)));
  int64_t v = 0;
  for (char c : digits) {
    const int d = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
    if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v)) {
      fail(map, start, "integer literal too large");
    }
  }
  t.type = Tok::Int;
  t.ival = v;
  pos = q;
  return true;
}

// Python's "unicode-escape" decoding of a literal body (after backslashreplace of non-ASCII).
void scan_string(const std::string& src, size_t& pos, Token& t, const SourceMap& map) {
  const size_t start = pos;
  const char quote = src[pos++];
  std::u32string cps;
  size_t p = pos;
  while (true) {
    if (p >= src.size()) fail(map, start, "unterminated string literal");
    if (src[p] == quote) break;
    p += src[p] == '\\' ? 2 : 1;
  }
  const std::u32string body = decode_utf8(std::string_view(src).substr(pos, p - pos));
  pos = p + 1;
  for (size_t i = 0; i < body.size(); ++i) {
    const char32_t c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      cps.push_back(c);
      continue;
    }
    const char32_t e = body[++i];
    auto read_hex = [&](int n) -> char32_t {
      uint32_t v = 0;
      for (int k = 0; k < n; ++k) {
        const int h = (i + 1 < body.size() && body[i + 1] < 0x80) ? hex_value(static_cast<char>(body[i + 1])) : -1;
        if (h < 0) fail(map, start, "truncated \\" + std::string(1, static_cast<char>(e)) + " escape in string literal");
        v = v * 16 + static_cast<uint32_t>(h);
        ++i;
      }
      if (v > 0x10FFFF) fail(map, start, "illegal Unicode character in string literal");
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
      case 'N': fail(map, start, "\\N{...} escapes are not supported");
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
          std::snprintf(buf, sizeof(buf), e < 0x100 ? "\\x%02x" : e < 0x10000 ? "\\u%04x" : "\\U%08x", static_cast<unsigned>(e));
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

}  // namespace cpplm::jinja
