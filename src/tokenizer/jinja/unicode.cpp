// UTF-8 decoding with surrogate escapes and Python's character classes, from libutf8proc's Unicode data.
//
// Each class follows CPython's definition (Objects/unicodectype.c, Tools/unicode/makeunicodedata.py)
// over libutf8proc's tables, and was compared with CPython 3.11 on every code point assigned in
// Unicode 14. Remaining differences:
// - The Unicode version is libutf8proc's (15.0 in utf8proc 2.8; CPython 3.11 has 14.0, 3.12 15.0),
//   so code points assigned or reclassified between the two follow libutf8proc.
// - isnumeric: CPython also counts the 81 CJK ideographs whose numeric value comes only from Unihan
//   (一 二 三 四 五 六 七 八 九 十 百 千 万 億 兆 零 and variants); libutf8proc has no numeric values, so
//   here they are letters but not numeric. isdecimal and isdigit are exact.
#include "tokenizer/jinja/unicode.h"

#include <utf8proc.h>

#include "core/utf8.h"

namespace cpplm::jinja {

namespace {

utf8proc_category_t category(char32_t c) { return utf8proc_category(static_cast<utf8proc_int32_t>(c)); }

// Numeric_Type=Digit: a digit value without a decimal one in UnicodeData.txt (superscripts,
// circled and parenthesized digits, ...), all of category No. libutf8proc has no numeric fields.
struct Range {
  char32_t first, last;
};
constexpr Range kDigitNotDecimal[] = {
    {0xB2, 0xB3},     {0xB9, 0xB9},       {0x1369, 0x1371},   {0x19DA, 0x19DA},   {0x2070, 0x2070},
    {0x2074, 0x2079}, {0x2080, 0x2089},   {0x2460, 0x2468},   {0x2474, 0x247C},   {0x2488, 0x2490},
    {0x24EA, 0x24EA}, {0x24F5, 0x24FD},   {0x24FF, 0x24FF},   {0x2776, 0x277E},   {0x2780, 0x2788},
    {0x278A, 0x2792}, {0x10A40, 0x10A43}, {0x10E60, 0x10E68}, {0x11052, 0x1105A}, {0x1F100, 0x1F10A},
};

}  // namespace

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    if (p[i] < 0x80) {
      out.push_back(p[i++]);
      continue;
    }
    // utf8proc_iterate rejects overlong forms, surrogates and values past U+10FFFF.
    utf8proc_int32_t cp = -1;
    const utf8proc_ssize_t n = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (n <= 0 || cp < 0) {
      out.push_back(0xDC00 + p[i++]);
      continue;
    }
    out.push_back(static_cast<char32_t>(cp));
    i += static_cast<size_t>(n);
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp >= 0xDC80 && cp <= 0xDCFF) {
    out.push_back(static_cast<char>(cp - 0xDC00));  // an escaped invalid byte
    return;
  }
  utf8_encode_append(out, cp);
}

std::string encode_utf8(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t c : cps) append_utf8(out, c);
  return out;
}

size_t count_code_points(std::string_view s) {
  bool ascii = true;
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
  return ascii ? s.size() : decode_utf8(s).size();
}

bool py_isspace(char32_t c) {
  if (c < 0x80) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
  // makeunicodedata.py: bidirectional class WS, B or S, or category Zs.
  const utf8proc_property_t* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
  return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
         p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

bool py_isprintable(char32_t c) {
  if (c < 0x80) return c >= 0x20 && c < 0x7F;
  switch (category(c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS: return false;
    default: return true;
  }
}

bool py_isalpha(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  switch (category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: return true;
    default: return false;
  }
}

bool py_isdecimal(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return category(c) == UTF8PROC_CATEGORY_ND;  // Numeric_Type=Decimal is exactly Nd
}

bool py_isdigit(char32_t c) {
  if (py_isdecimal(c)) return true;
  if (c < 0xB2) return false;
  for (const Range& r : kDigitNotDecimal)
    if (c >= r.first && c <= r.last) return true;
  return false;
}

bool py_isnumeric(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  const utf8proc_category_t cat = category(c);
  return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}

bool py_isalnum(char32_t c) { return py_isalpha(c) || py_isnumeric(c); }

std::vector<std::string> split_lines(std::string_view s) {
  const std::u32string cps = decode_utf8(s);
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps[i];
    const bool brk = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E || c == 0x85 ||
                     c == 0x2028 || c == 0x2029;
    if (!brk) continue;
    lines.push_back(encode_utf8(std::u32string_view(cps).substr(start, i - start)));
    if (c == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < cps.size()) lines.push_back(encode_utf8(std::u32string_view(cps).substr(start)));
  return lines;
}

}  // namespace cpplm::jinja
