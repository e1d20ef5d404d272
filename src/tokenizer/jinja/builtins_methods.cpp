// Python methods of str, dict and list that templates call (message.content.strip(), d.items(), ...).
#include <unordered_map>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/str_ops.h"
#include "tokenizer/jinja/unicode.h"

namespace cpplm::jinja {

namespace {

const std::string& str_arg(const Value& v, const char* fn) {
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_string()) fail(std::string(fn) + "() argument must be str, not " + v.type_name());
  return v.str();
}

// strip(chars=None) family: None strips whitespace.
Value strip_common(const Value& self, CallArgs& a, const char* fn, bool left, bool right) {
  const auto v = bind_args(a, {"chars"}, fn);
  if (v[0].is_undefined() || v[0].is_none()) return Value(py_strip(self.str(), nullptr, left, right));
  const std::string& chars = str_arg(v[0], fn);
  return Value(py_strip(self.str(), &chars, left, right));
}
Value m_strip(Evaluator&, const Value& s, CallArgs& a) { return strip_common(s, a, "strip", true, true); }
Value m_lstrip(Evaluator&, const Value& s, CallArgs& a) { return strip_common(s, a, "lstrip", true, false); }
Value m_rstrip(Evaluator&, const Value& s, CallArgs& a) { return strip_common(s, a, "rstrip", false, true); }

Value split_common(const Value& self, CallArgs& a, const char* fn, bool from_right) {
  const auto v = bind_args(a, {"sep", "maxsplit"}, fn);
  const int64_t maxsplit = v[1].is_undefined() ? -1 : int_arg(v[1], "maxsplit");
  std::vector<std::string> parts;
  if (v[0].is_undefined() || v[0].is_none()) {
    parts = py_split_whitespace(self.str(), maxsplit, from_right);
  } else {
    const std::string& sep = str_arg(v[0], fn);
    if (sep.empty()) fail("empty separator");
    parts = py_split(self.str(), sep, maxsplit, from_right);
  }
  std::vector<Value> out;
  out.reserve(parts.size());
  for (auto& p : parts) out.emplace_back(std::move(p));
  return Value::list(std::move(out));
}
Value m_split(Evaluator&, const Value& s, CallArgs& a) { return split_common(s, a, "split", false); }
Value m_rsplit(Evaluator&, const Value& s, CallArgs& a) { return split_common(s, a, "rsplit", true); }

Value m_splitlines(Evaluator&, const Value& s, CallArgs& a) {
  bind_args(a, {"keepends"}, "splitlines");
  std::vector<Value> out;
  for (auto& l : split_lines(s.str())) out.emplace_back(std::move(l));
  return Value::list(std::move(out));
}

bool affix_match(const Value& self, CallArgs& a, const char* fn, bool prefix) {
  const auto v = bind_args(a, {"prefix"}, fn);
  auto one = [&](const Value& p) {
    const std::string& x = str_arg(p, fn);
    const std::string& s = self.str();
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (v[0].is_list()) {
    for (const auto& p : v[0].items())
      if (one(p)) return true;
    return false;
  }
  return one(v[0]);
}
Value m_startswith(Evaluator&, const Value& s, CallArgs& a) { return Value(affix_match(s, a, "startswith", true)); }
Value m_endswith(Evaluator&, const Value& s, CallArgs& a) { return Value(affix_match(s, a, "endswith", false)); }

Value m_replace(Evaluator& ev, const Value& s, CallArgs& a) {
  const auto v = bind_args(a, {"old", "new", "count"}, "replace");
  const int64_t count = v[2].is_undefined() ? -1 : int_arg(v[2], "count");
  return Value(py_replace(s.str(), str_arg(v[0], "replace"), str_arg(v[1], "replace"), count, ev));
}

Value m_upper(Evaluator&, const Value& s, CallArgs& a) {
  bind_args(a, {}, "upper");
  return Value(str_upper(s.str()));
}
Value m_lower(Evaluator&, const Value& s, CallArgs& a) {
  bind_args(a, {}, "lower");
  return Value(str_lower(s.str()));
}
Value m_title(Evaluator&, const Value& s, CallArgs& a) {
  bind_args(a, {}, "title");
  return Value(str_title(s.str()));
}
Value m_capitalize(Evaluator&, const Value& s, CallArgs& a) {
  bind_args(a, {}, "capitalize");
  return Value(str_capitalize(s.str()));
}
Value m_casefold(Evaluator&, const Value& s, CallArgs& a) {
  bind_args(a, {}, "casefold");
  return Value(str_casefold(s.str()));
}
Value m_swapcase(Evaluator&, const Value& s, CallArgs& a) {
  bind_args(a, {}, "swapcase");
  return Value(str_swapcase(s.str()));
}

Value find_common(const Value& self, CallArgs& a, const char* fn, bool from_right, bool raise) {
  const auto v = bind_args(a, {"sub"}, fn);
  const std::string& sub = str_arg(v[0], fn);
  const size_t p = from_right ? self.str().rfind(sub) : self.str().find(sub);
  if (p == std::string::npos) {
    if (raise) fail("substring not found");
    return Value(-1);
  }
  return Value(static_cast<int64_t>(count_code_points(std::string_view(self.str()).substr(0, p))));
}
Value m_find(Evaluator&, const Value& s, CallArgs& a) { return find_common(s, a, "find", false, false); }
Value m_rfind(Evaluator&, const Value& s, CallArgs& a) { return find_common(s, a, "rfind", true, false); }
Value m_index(Evaluator&, const Value& s, CallArgs& a) { return find_common(s, a, "index", false, true); }

Value m_count(Evaluator&, const Value& s, CallArgs& a) {
  const auto v = bind_args(a, {"sub"}, "count");
  const std::string& sub = str_arg(v[0], "count");
  if (sub.empty()) return Value(static_cast<int64_t>(count_code_points(s.str()) + 1));
  int64_t n = 0;
  for (size_t p = s.str().find(sub); p != std::string::npos; p = s.str().find(sub, p + sub.size())) ++n;
  return Value(n);
}

Value m_join(Evaluator& ev, const Value& s, CallArgs& a) {
  const auto v = bind_args(a, {"iterable"}, "join");
  const std::vector<Value> items = iterate(v[0]);
  size_t total = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_string()) {
      fail("sequence item " + std::to_string(i) + ": expected str instance, " + items[i].type_name() + " found");
    }
    total += items[i].str().size() + s.str().size();
  }
  ev.check_size(total);
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += s.str();
    out += items[i].str();
  }
  return Value(std::move(out));
}

template <bool (*Pred)(char32_t)>
Value char_class(Evaluator&, const Value& s, CallArgs& a) {
  bind_args(a, {}, "is...");
  const std::u32string cps = decode_utf8(s.str());
  if (cps.empty()) return Value(false);
  for (char32_t c : cps)
    if (!Pred(c)) return Value(false);
  return Value(true);
}

Value m_isprintable(Evaluator&, const Value& s, CallArgs& a) {
  bind_args(a, {}, "isprintable");
  for (char32_t c : decode_utf8(s.str()))
    if (!py_isprintable(c)) return Value(false);
  return Value(true);  // also for "", unlike the other is...() methods
}

template <bool (*Pred)(std::string_view)>
Value case_class(Evaluator&, const Value& s, CallArgs& a) {
  bind_args(a, {}, "is...");
  return Value(Pred(s.str()));
}

Value m_removeprefix(Evaluator&, const Value& s, CallArgs& a) {
  const auto v = bind_args(a, {"prefix"}, "removeprefix");
  const std::string& p = str_arg(v[0], "removeprefix");
  return Value(s.str().compare(0, p.size(), p) == 0 ? s.str().substr(p.size()) : s.str());
}
Value m_removesuffix(Evaluator&, const Value& s, CallArgs& a) {
  const auto v = bind_args(a, {"suffix"}, "removesuffix");
  const std::string& p = str_arg(v[0], "removesuffix");
  const std::string& x = s.str();
  const bool has = !p.empty() && p.size() <= x.size() && x.compare(x.size() - p.size(), p.size(), p) == 0;
  return Value(has ? x.substr(0, x.size() - p.size()) : x);
}

Value m_format(Evaluator& ev, const Value& s, CallArgs& a) { return Value(py_format(s.str(), a, ev)); }

// dict methods.
Value m_items(Evaluator&, const Value& d, CallArgs& a) {
  bind_args(a, {}, "items");
  std::vector<Value> out;
  for (const auto& [k, v] : d.dict_ref().items) out.push_back(Value::list({Value(k), v}, /*tuple=*/true));
  return Value::list(std::move(out));
}
Value m_keys(Evaluator&, const Value& d, CallArgs& a) {
  bind_args(a, {}, "keys");
  std::vector<Value> out;
  for (const auto& kv : d.dict_ref().items) out.emplace_back(kv.first);
  return Value::list(std::move(out));
}
Value m_values(Evaluator&, const Value& d, CallArgs& a) {
  bind_args(a, {}, "values");
  std::vector<Value> out;
  for (const auto& kv : d.dict_ref().items) out.push_back(kv.second);
  return Value::list(std::move(out));
}
Value m_get(Evaluator&, const Value& d, CallArgs& a) {
  const auto v = bind_args(a, {"key", "default"}, "get");
  if (v[0].is_string()) {
    if (const Value* x = d.dict_ref().find(v[0].str())) return *x;
  }
  return v[1].is_undefined() ? Value::none() : v[1];
}

// list methods (non-mutating; the immutable sandbox refuses the others).
Value m_list_index(Evaluator&, const Value& l, CallArgs& a) {
  const auto v = bind_args(a, {"value"}, "index");
  for (size_t i = 0; i < l.items().size(); ++i) {
    if (values_equal(l.items()[i], v[0])) return Value(static_cast<int64_t>(i));
  }
  fail(v[0].repr() + " is not in list");
}
Value m_list_count(Evaluator&, const Value& l, CallArgs& a) {
  const auto v = bind_args(a, {"value"}, "count");
  int64_t n = 0;
  for (const auto& e : l.items()) n += values_equal(e, v[0]) ? 1 : 0;
  return Value(n);
}

using MethodTable = std::unordered_map<std::string_view, MethodFn>;

const MethodTable kStrMethods = {
    {"strip", m_strip},
    {"lstrip", m_lstrip},
    {"rstrip", m_rstrip},
    {"split", m_split},
    {"rsplit", m_rsplit},
    {"splitlines", m_splitlines},
    {"startswith", m_startswith},
    {"endswith", m_endswith},
    {"replace", m_replace},
    {"upper", m_upper},
    {"lower", m_lower},
    {"casefold", m_casefold},
    {"swapcase", m_swapcase},
    {"title", m_title},
    {"capitalize", m_capitalize},
    {"find", m_find},
    {"rfind", m_rfind},
    {"index", m_index},
    {"count", m_count},
    {"join", m_join},
    {"isdigit", char_class<py_isdigit>},
    {"isnumeric", char_class<py_isnumeric>},
    {"isdecimal", char_class<py_isdecimal>},
    {"isalpha", char_class<py_isalpha>},
    {"isalnum", char_class<py_isalnum>},
    {"isspace", char_class<py_isspace>},
    {"isprintable", m_isprintable},
    {"isupper", case_class<str_isupper>},
    {"islower", case_class<str_islower>},
    {"istitle", case_class<str_istitle>},
    {"removeprefix", m_removeprefix},
    {"removesuffix", m_removesuffix},
    {"format", m_format},
};

const MethodTable kDictMethods = {
    {"items", m_items},
    {"keys", m_keys},
    {"values", m_values},
    {"get", m_get},
};

const MethodTable kListMethods = {{"index", m_list_index}, {"count", m_list_count}};

// What ImmutableSandboxedEnvironment refuses: mutating methods of list and dict.
Value m_unsafe(Evaluator&, const Value& self, CallArgs&) {
  fail("access to a mutating method of '" + self.type_name() + "' object is unsafe (immutable sandbox)");
}
bool is_mutating(std::string_view n, bool list) {
  if (list)
    return n == "append" || n == "extend" || n == "insert" || n == "pop" || n == "remove" || n == "clear" || n == "sort" ||
           n == "reverse";
  return n == "update" || n == "pop" || n == "popitem" || n == "setdefault" || n == "clear";
}

}  // namespace

MethodFn find_method(const Value& self, std::string_view name) {
  const MethodTable* table = nullptr;
  if (self.is_string()) table = &kStrMethods;
  else if (self.is_dict()) table = &kDictMethods;
  else if (self.is_list() && !self.is_tuple()) table = &kListMethods;
  if (!table) return nullptr;
  auto it = table->find(name);
  if (it != table->end()) return it->second;
  if ((self.is_list() || self.is_dict()) && is_mutating(name, self.is_list())) return m_unsafe;
  return nullptr;
}

}  // namespace cpplm::jinja
