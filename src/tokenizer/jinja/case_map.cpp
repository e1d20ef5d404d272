// Python's full case mappings of str (upper, lower, casefold, swapcase, title, capitalize) from libutf8proc.
//
// libutf8proc has the simple mappings (UnicodeData.txt), full case folding (CaseFolding.txt, C + F)
// and the Lowercase / Uppercase properties, but not SpecialCasing.txt. The unconditional special
// mappings follow from those, as checked against CPython 3.11 on every assigned code point:
// - upper: a character that is not Lu and folds to several code points maps to the simple
//   uppercase of each of them (ß → SS, ﬁ → FI, ŉ → ʼN, ᾳ → ΑΙ, և → ԵՒ); otherwise simple uppercase.
// - lower: simple lowercase, except İ (U+0130) → i̇ (i + U+0307), the one unconditional
//   multi-code-point lowercase mapping; Σ becomes ς in the Final_Sigma context, as in CPython.
// - title: characters without a simple titlecase mapping that fold to several code points take
//   the fold with its first cased code point titlecased (ß → Ss, ŉ → ʼN, ﬂ → Fl); a fold ending in
//   ι (U+03B9) came from an iota subscript, which titlecase keeps as U+0345 (ᾲ → Ὰͅ).
// The language-dependent mappings of SpecialCasing.txt (Turkish, Lithuanian) are not applied,
// as CPython does not apply them. The Unicode version is libutf8proc's (see unicode.cpp).
#include <utf8proc.h>

#include "tokenizer/jinja/unicode.h"

namespace cpplm::jinja {

namespace {

using Cp = utf8proc_int32_t;

utf8proc_category_t category(char32_t c) { return utf8proc_category(static_cast<Cp>(c)); }
char32_t simple_upper(char32_t c) { return static_cast<char32_t>(utf8proc_toupper(static_cast<Cp>(c))); }
char32_t simple_lower(char32_t c) { return static_cast<char32_t>(utf8proc_tolower(static_cast<Cp>(c))); }
char32_t simple_title(char32_t c) { return static_cast<char32_t>(utf8proc_totitle(static_cast<Cp>(c))); }
bool is_lower(char32_t c) { return utf8proc_islower(static_cast<Cp>(c)) != 0; }  // Lowercase property
bool is_upper(char32_t c) { return utf8proc_isupper(static_cast<Cp>(c)) != 0; }  // Uppercase property
bool is_title(char32_t c) { return category(c) == UTF8PROC_CATEGORY_LT; }
bool is_cased(char32_t c) { return is_lower(c) || is_upper(c) || is_title(c); }

// Case_Ignorable (DerivedCoreProperties.txt): categories Mn, Me, Cf, Lm, Sk, and the code points
// of Word_Break MidLetter, MidNumLet and Single_Quote, which libutf8proc does not carry.
bool is_case_ignorable(char32_t c) {
  switch (category(c)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK: return true;
    default: break;
  }
  switch (c) {
    case 0x27:
    case 0x2E:
    case 0x3A:
    case 0xB7:
    case 0x387:
    case 0x55F:
    case 0x5F4:
    case 0x2018:
    case 0x2019:
    case 0x2024:
    case 0x2027:
    case 0xFE13:
    case 0xFE52:
    case 0xFE55:
    case 0xFF07:
    case 0xFF0E:
    case 0xFF1A: return true;
    default: return false;
  }
}

// Full case folding of c (at most 3 code points); returns the count.
size_t fold(char32_t c, char32_t out[4]) {
  Cp buf[4];
  int boundclass = 0;
  const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<Cp>(c), buf, 4, UTF8PROC_CASEFOLD, &boundclass);
  if (n < 1 || n > 4) {
    out[0] = c;
    return 1;
  }
  for (utf8proc_ssize_t k = 0; k < n; ++k) out[k] = static_cast<char32_t>(buf[k]);
  return static_cast<size_t>(n);
}

void append_upper(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 0x20 : c));
    return;
  }
  char32_t f[4];
  const size_t n = category(c) == UTF8PROC_CATEGORY_LU ? 1 : fold(c, f);
  if (n == 1) {
    append_utf8(out, simple_upper(c));
    return;
  }
  for (size_t k = 0; k < n; ++k) append_utf8(out, simple_upper(f[k]));
}

void append_title(std::string& out, char32_t c) {
  const char32_t t = c < 0x80 ? simple_upper(c) : simple_title(c);
  char32_t f[4];
  // libutf8proc titlecases ß to ẞ (U+1E9E), which UnicodeData.txt does not: ß takes the fold path.
  const bool simple = c < 0x80 || (t != c && c != 0xDF) || is_upper(c) || is_title(c);
  const size_t n = simple ? 1 : fold(c, f);
  if (n == 1) {
    append_utf8(out, t);
    return;
  }
  bool done = false;
  for (size_t k = 0; k < n; ++k) {
    char32_t x = f[k];
    if (!done && is_cased(x)) {
      x = simple_title(x);
      done = true;
    } else if (k + 1 == n && x == 0x3B9) {
      x = 0x345;
    }
    append_utf8(out, x);
  }
}

// CPython's handle_capital_sigma: Σ at i is final when a cased letter precedes it and none follows,
// skipping case-ignorable code points both ways.
bool final_sigma(std::u32string_view s, size_t i) {
  size_t j = i;
  while (j > 0 && is_case_ignorable(s[j - 1])) --j;
  if (j == 0 || !is_cased(s[j - 1])) return false;
  size_t k = i + 1;
  while (k < s.size() && is_case_ignorable(s[k])) ++k;
  return k == s.size() || !is_cased(s[k]);
}

// CPython's lower_ucs4: the lowercase of s[i] in the context of s.
void append_lower(std::string& out, std::u32string_view s, size_t i) {
  const char32_t c = s[i];
  if (c < 0x80) {
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 0x20 : c));
  } else if (c == 0x3A3) {
    append_utf8(out, final_sigma(s, i) ? 0x3C2 : 0x3C3);
  } else if (c == 0x130) {
    out += "i\xCC\x87";  // i + U+0307 COMBINING DOT ABOVE
  } else {
    append_utf8(out, simple_lower(c));
  }
}

void append_lower_all(std::string& out, std::u32string_view s) {
  for (size_t i = 0; i < s.size(); ++i) append_lower(out, s, i);
}

}  // namespace

std::string str_upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : decode_utf8(s)) append_upper(out, c);
  return out;
}

std::string str_lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  append_lower_all(out, decode_utf8(s));
  return out;
}

std::string str_casefold(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : decode_utf8(s)) {
    char32_t f[4];
    const size_t n = fold(c, f);
    for (size_t k = 0; k < n; ++k) append_utf8(out, f[k]);
  }
  return out;
}

std::string str_swapcase(std::string_view s) {
  const std::u32string cps = decode_utf8(s);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < cps.size(); ++i) {
    if (is_upper(cps[i])) append_lower(out, cps, i);
    else if (is_lower(cps[i])) append_upper(out, cps[i]);
    else append_utf8(out, cps[i]);
  }
  return out;
}

std::string str_title(std::string_view s) {
  const std::u32string cps = decode_utf8(s);
  std::string out;
  out.reserve(s.size());
  bool previous_cased = false;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (previous_cased) append_lower(out, cps, i);
    else append_title(out, cps[i]);
    previous_cased = is_cased(cps[i]);
  }
  return out;
}

std::string str_capitalize(std::string_view s) {
  const std::u32string cps = decode_utf8(s);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < cps.size(); ++i) {
    if (i == 0) append_title(out, cps[0]);
    else append_lower(out, cps, i);
  }
  return out;
}

bool str_isupper(std::string_view s) {
  bool cased = false;
  for (char32_t c : decode_utf8(s)) {
    if (is_lower(c) || is_title(c)) return false;
    cased = cased || is_upper(c);
  }
  return cased;
}

bool str_islower(std::string_view s) {
  bool cased = false;
  for (char32_t c : decode_utf8(s)) {
    if (is_upper(c) || is_title(c)) return false;
    cased = cased || is_lower(c);
  }
  return cased;
}

bool str_istitle(std::string_view s) {
  bool cased = false;
  bool previous_cased = false;
  for (char32_t c : decode_utf8(s)) {
    if (is_upper(c) || is_title(c)) {
      if (previous_cased) return false;
      previous_cased = cased = true;
    } else if (is_lower(c)) {
      if (!previous_cased) return false;
      previous_cased = cased = true;
    } else {
      previous_cased = false;
    }
  }
  return cased;
}

std::string jinja_title(std::string_view s) {
  // jinja2 do_title: re.split(r"([-\s({\[<]+)"), then item[0].upper() + item[1:].lower() per item,
  // so a word's lowercase sees only the word without its first letter (Final_Sigma context).
  const std::u32string cps = decode_utf8(s);
  const std::u32string_view all(cps);
  std::string out;
  out.reserve(s.size());
  auto is_sep = [](char32_t c) { return py_isspace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<'; };
  size_t i = 0;
  while (i < cps.size()) {
    if (is_sep(cps[i])) {
      append_utf8(out, cps[i++]);
      continue;
    }
    size_t end = i + 1;
    while (end < cps.size() && !is_sep(cps[end])) ++end;
    append_upper(out, cps[i]);
    append_lower_all(out, all.substr(i + 1, end - i - 1));
    i = end;
  }
  return out;
}

}  // namespace cpplm::jinja
