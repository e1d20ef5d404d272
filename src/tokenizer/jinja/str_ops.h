// Python str algorithms shared by string methods and filters (strip, split, replace, format, ...).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace cpplm::jinja {

class Evaluator;

// str.strip/lstrip/rstrip; chars == nullptr strips whitespace.
std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right);
// str.split()/rsplit() without a separator, and with one.
std::vector<std::string> py_split_whitespace(std::string_view s, int64_t maxsplit, bool from_right);
std::vector<std::string> py_split(std::string_view s, std::string_view sep, int64_t maxsplit, bool from_right);
// str.replace; checks the result size against the evaluator's limit before building it.
std::string py_replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count, const Evaluator& ev);
// str.format with positional/keyword fields and no format specs.
std::string py_format(std::string_view fmt, CallArgs& args, const Evaluator& ev);
std::string html_escape(std::string_view s);  // markupsafe.escape

}  // namespace cpplm::jinja
