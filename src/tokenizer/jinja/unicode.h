// UTF-8 helpers giving Python str semantics to byte strings: code-point indexing, isspace, case mapping.
#pragma once
#include <cstdint>
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

bool py_isspace(char32_t c);         // str.isspace
bool py_isprintable(char32_t c);     // str.isprintable (approximation outside common blocks)
bool py_isalpha(char32_t c);         // letters (approximation: cased letters and CJK)
bool py_isdigit(char32_t c);         // ASCII and other common decimal digits
char32_t to_upper(char32_t c);       // simple case mapping: Latin, Greek, Cyrillic
char32_t to_lower(char32_t c);
bool is_cased(char32_t c);

std::string str_upper(std::string_view s);
std::string str_lower(std::string_view s);
// Python str.splitlines() (no keepends).
std::vector<std::string> split_lines(std::string_view s);

}  // namespace cpplm::jinja
