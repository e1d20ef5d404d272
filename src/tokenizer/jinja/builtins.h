// Registry of filters, tests, methods of str/dict/list, and global functions (jinja2 + transformers' additions).
#pragma once
#include <initializer_list>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace cpplm::jinja {

class Evaluator;
using FilterFn = Value (*)(Evaluator&, const Value& input, CallArgs& args);
using TestFn = bool (*)(Evaluator&, const Value& input, CallArgs& args);
using MethodFn = Value (*)(Evaluator&, const Value& self, CallArgs& args);

FilterFn find_filter(std::string_view name);  // nullptr when unknown
using FilterTable = std::unordered_map<std::string_view, FilterFn>;
void add_sequence_filters(FilterTable& table);  // builtins_seq_filters.cpp
TestFn find_test(std::string_view name);
MethodFn find_method(const Value& self, std::string_view name);  // str, dict and list methods
// range, dict, namespace, raise_exception, strftime_now.
void add_globals(Dict& globals);

// Binds positional and keyword arguments to parameter names, Python-style; absent ones stay undefined.
std::vector<Value> bind_args(CallArgs& args, std::initializer_list<const char*> names, const char* fn_name);

// Python str() of a value, as filters use it (jinja2's soft_str: undefined -> "").
inline std::string soft_str(const Value& v) { return v.to_str(); }
// Python int() of an argument that must be an integer (bool counts).
int64_t int_arg(const Value& v, const char* what);

}  // namespace cpplm::jinja
