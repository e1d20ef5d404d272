// Python str semantics on UTF-8 byte strings: code points, character classes and case mappings.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cpplm::jinja {

// Decodes UTF-8 to code points. An invalid byte b becomes the lone surrogate 0xDC00+b
// (Python's surrogateescape), so that encode_utf8(decode_utf8(s)) == s for any bytes.
std::u32string decode_utf8(std::string_view s);
std::string encode_utf8(std::u32string_view cps);
void append_utf8(std::string& out, char32_t cp);
size_t count_code_points(std::string_view s);

// Python's character classes (str.isX is true when the string is non-empty and every code
// point is in the class). Unicode data come from libutf8proc; see unicode.cpp for the one
// place (isnumeric) where they cannot match CPython.
bool py_isspace(char32_t c);
bool py_isprintable(char32_t c);
bool py_isalpha(char32_t c);
bool py_isdecimal(char32_t c);
bool py_isdigit(char32_t c);
bool py_isnumeric(char32_t c);
bool py_isalnum(char32_t c);  // also what Python's regex \w accepts besides '_'

// Python str methods with full case mappings (SpecialCasing.txt) and Greek final sigma.
std::string str_upper(std::string_view s);
std::string str_lower(std::string_view s);
std::string str_casefold(std::string_view s);
std::string str_swapcase(std::string_view s);
std::string str_title(std::string_view s);
std::string str_capitalize(std::string_view s);
bool str_isupper(std::string_view s);
bool str_islower(std::string_view s);
bool str_istitle(std::string_view s);
// jinja2's |title filter: words split at whitespace, '-', '(', '{', '[' or '<'; each word is
// word[0].upper() + word[1:].lower().
std::string jinja_title(std::string_view s);

// Python str.splitlines() (no keepends).
std::vector<std::string> split_lines(std::string_view s);

}  // namespace cpplm::jinja
