// Scanners for number and string literals inside template tags (used by the lexer).
#pragma once
#include <string>

#include "tokenizer/jinja/lexer.h"

namespace cpplm::jinja {

// If src[pos] starts a number, fills t (Int or Float), advances pos and returns true.
bool scan_number(const std::string& src, size_t& pos, Token& t, const SourceMap& map);
// Scans the quoted literal at src[pos] into t (String, unescaped); throws cpplm::Error on bad escapes.
void scan_string(const std::string& src, size_t& pos, Token& t, const SourceMap& map);

}  // namespace cpplm::jinja
