// Text and number filters (trim, tojson, default, indent, int, round, ...) as jinja2's filters.py and transformers define them.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/str_ops.h"
#include "tokenizer/jinja/unicode.h"

namespace cpplm::jinja {

namespace {

Value f_default(Evaluator&, const Value& v, CallArgs& a) {
  const auto p = bind_args(a, {"default_value", "boolean"}, "default");
  bool given = !a.args.empty();
  for (const auto& kv : a.kwargs) given = given || kv.first == "default_value";
  const Value dflt = given ? p[0] : Value(std::string());
  if (v.is_undefined() || (p[1].truthy() && !v.truthy())) return dflt;
  return v;
}

Value f_trim(Evaluator&, const Value& v, CallArgs& a) {
  const auto p = bind_args(a, {"chars"}, "trim");
  if (p[0].is_undefined() || p[0].is_none()) return Value(py_strip(v.to_str(), nullptr, true, true));
  const std::string chars = p[0].to_str();
  return Value(py_strip(v.to_str(), &chars, true, true));
}

Value f_upper(Evaluator&, const Value& v, CallArgs& a) {
  bind_args(a, {}, "upper");
  return Value(str_upper(v.to_str()));
}
Value f_lower(Evaluator&, const Value& v, CallArgs& a) {
  bind_args(a, {}, "lower");
  return Value(str_lower(v.to_str()));
}
Value f_title(Evaluator&, const Value& v, CallArgs& a) {
  bind_args(a, {}, "title");
  return Value(jinja_title(v.to_str()));
}
Value f_capitalize(Evaluator&, const Value& v, CallArgs& a) {
  bind_args(a, {}, "capitalize");
  return Value(str_capitalize(v.to_str()));
}
Value f_string(Evaluator&, const Value& v, CallArgs& a) {
  bind_args(a, {}, "string");
  return Value(v.to_str());
}
Value f_escape(Evaluator&, const Value& v, CallArgs& a) {
  bind_args(a, {}, "escape");
  return Value(html_escape(v.to_str()));
}

Value f_replace(Evaluator& ev, const Value& v, CallArgs& a) {
  const auto p = bind_args(a, {"old", "new", "count"}, "replace");
  const int64_t count = (p[2].is_undefined() || p[2].is_none()) ? -1 : int_arg(p[2], "count");
  return Value(py_replace(v.to_str(), p[0].to_str(), p[1].to_str(), count, ev));
}

// jinja2 do_indent (3.1).
Value f_indent(Evaluator& ev, const Value& v, CallArgs& a) {
  const auto p = bind_args(a, {"width", "first", "blank"}, "indent");
  std::string indention;
  if (p[0].is_string()) {
    indention = p[0].str();
  } else {
    const int64_t w = p[0].is_undefined() ? 4 : int_arg(p[0], "width");
    ev.check_size(static_cast<size_t>(std::max<int64_t>(w, 0)));
    indention.assign(static_cast<size_t>(std::max<int64_t>(w, 0)), ' ');
  }
  const std::vector<std::string> lines = split_lines(v.to_str() + "\n");
  size_t total = indention.size();
  for (const auto& l : lines) total += l.size() + 1 + indention.size();
  ev.check_size(total);
  std::string rv;
  if (p[2].truthy()) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i) rv += "\n" + indention;
      rv += lines[i];
    }
  } else {
    rv = lines.empty() ? std::string() : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? lines[i] : indention + lines[i]);
  }
  if (p[1].truthy()) rv = indention + rv;
  return Value(std::move(rv));
}

Value f_center(Evaluator& ev, const Value& v, CallArgs& a) {
  const auto p = bind_args(a, {"width"}, "center");
  const int64_t width = p[0].is_undefined() ? 80 : int_arg(p[0], "width");
  const std::string s = v.to_str();
  const auto n = static_cast<int64_t>(count_code_points(s));
  if (width <= n) return Value(s);
  ev.check_size(static_cast<size_t>(width));
  const int64_t pad = width - n;
  const int64_t left = pad / 2 + (pad & width & 1);  // CPython pad(): extra space goes left when both are odd
  return Value(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(pad - left), ' '));
}

// Python int(str): whitespace, sign, digits with single underscores.
bool parse_py_int(const std::string& text, int base, int64_t* out) {
  const std::string s = py_strip(text, nullptr, true, true);
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (i >= s.size()) return false;
  if (i + 1 < s.size() && s[i] == '0') {  // optional prefix matching the base; base 0 infers it
    const char x = static_cast<char>(s[i + 1] | 0x20);
    const int prefixed = x == 'x' ? 16 : x == 'o' ? 8 : x == 'b' ? 2 : 0;
    if (prefixed && (base == 0 || base == prefixed)) {
      base = prefixed;
      i += 2;
      if (i < s.size() && s[i] == '_') ++i;
    }
  }
  if (base == 0) base = 10;
  int64_t v = 0;
  bool prev_digit = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_' && prev_digit && i + 1 < s.size() && s[i + 1] != '_') {
      prev_digit = false;
      continue;
    }
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') d = (c | 0x20) - 'a' + 10;
    if (d < 0 || d >= base) return false;
    if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v)) fail("integer overflow");
    prev_digit = true;
  }
  if (!prev_digit) return false;
  *out = neg ? -v : v;
  return true;
}

bool parse_py_float(const std::string& text, double* out) {
  std::string s = py_strip(text, nullptr, true, true);
  if (s.empty() || s.find_first_of("xX") != std::string::npos) return false;
  std::string clean;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      const bool ok = i > 0 && i + 1 < s.size() && s[i - 1] >= '0' && s[i - 1] <= '9' && s[i + 1] >= '0' && s[i + 1] <= '9';
      if (!ok) return false;
      continue;
    }
    clean += s[i];
  }
  char* end = nullptr;
  *out = std::strtod(clean.c_str(), &end);
  return end == clean.c_str() + clean.size();
}

int64_t float_to_int(double d) {
  if (std::isnan(d)) fail("cannot convert float NaN to integer");
  if (!(std::fabs(d) < 9.2e18)) fail("cannot convert float infinity or huge value to integer");
  return static_cast<int64_t>(d);
}

Value f_int(Evaluator&, const Value& v, CallArgs& a) {
  const auto p = bind_args(a, {"default", "base"}, "int");
  const Value dflt = p[0].is_undefined() ? Value(0) : p[0];
  const int64_t base = p[1].is_undefined() ? 10 : int_arg(p[1], "base");
  if (v.is_integral()) return Value(v.as_int());
  if (v.is_float()) return Value(float_to_int(v.as_double()));
  if (v.is_string()) {
    int64_t r = 0;
    if ((base == 0 || (base >= 2 && base <= 36)) && parse_py_int(v.str(), static_cast<int>(base), &r)) return Value(r);
    double d = 0;
    if (parse_py_float(v.str(), &d)) return Value(float_to_int(d));  // "42.23"|int gives 42
  }
  return dflt;
}

Value f_float(Evaluator&, const Value& v, CallArgs& a) {
  const auto p = bind_args(a, {"default"}, "float");
  if (v.is_number()) return Value(v.as_double());
  double d = 0;
  if (v.is_string() && parse_py_float(v.str(), &d)) return Value(d);
  return p[0].is_undefined() ? Value(0.0) : p[0];
}

Value f_abs(Evaluator&, const Value& v, CallArgs& a) {
  bind_args(a, {}, "abs");
  if (v.is_float()) return Value(std::fabs(v.as_double()));
  if (v.is_integral()) {
    if (v.as_int() == INT64_MIN) fail("integer overflow");
    return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
  }
  if (v.is_undefined()) fail_undefined(v);
  fail("bad operand type for abs(): '" + v.type_name() + "'");
}

// jinja2 do_round: "common" is Python's round() (ties to even on the exact binary value).
Value f_round(Evaluator&, const Value& v, CallArgs& a) {
  const auto p = bind_args(a, {"precision", "method"}, "round");
  const int64_t prec = p[0].is_undefined() ? 0 : int_arg(p[0], "precision");
  const std::string method = p[1].is_undefined() ? "common" : p[1].to_str();
  if (method != "common" && method != "ceil" && method != "floor") {
    fail("method must be 'common', 'ceil' or 'floor'");
  }
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_number()) fail("type " + v.type_name() + " doesn't define __round__ method");
  const double x = v.as_double();
  if (method != "common") {
    const double scale = std::pow(10.0, static_cast<double>(prec));
    return Value((method == "ceil" ? std::ceil(x * scale) : std::floor(x * scale)) / scale);
  }
  if (v.is_integral() && prec >= 0) return Value(v.as_int());
  if (std::isnan(x) || std::isinf(x)) return Value(x);
  if (prec < 0 || prec > 300) {
    const double scale = std::pow(10.0, static_cast<double>(-prec));
    return Value(std::nearbyint(x / scale) * scale);
  }
  char buf[512];
  std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(prec), x);
  return Value(std::strtod(buf, nullptr));
}

// transformers' tojson: json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
Value f_tojson(Evaluator& ev, const Value& v, CallArgs& a) {
  const auto p = bind_args(a, {"ensure_ascii", "indent", "separators", "sort_keys"}, "tojson");
  JsonOptions opt;
  opt.ensure_ascii = p[0].truthy();
  opt.sort_keys = p[3].truthy();
  const Value& indent = p[1];
  if (!indent.is_undefined() && !indent.is_none()) {
    if (indent.is_string()) {
      opt.indent_str = indent.str();
      opt.indent = 0;
    } else {
      const int64_t n = int_arg(indent, "indent");
      ev.check_size(static_cast<size_t>(std::max<int64_t>(n, 0)));
      opt.indent = static_cast<int>(std::max<int64_t>(n, 0));
    }
    opt.item_sep.assign(1, ',');  // (assign from a char: GCC 12 misreports operator=(const char*) here)
  }
  if (!p[2].is_undefined() && !p[2].is_none()) {
    if (!p[2].is_list() || p[2].items().size() != 2 || !p[2].items()[0].is_string() || !p[2].items()[1].is_string()) {
      fail("tojson separators must be a pair of strings");
    }
    opt.item_sep = p[2].items()[0].str();
    opt.key_sep = p[2].items()[1].str();
  }
  return Value(dump_json(v, opt));
}

Value f_items(Evaluator&, const Value& v, CallArgs& a) {
  bind_args(a, {}, "items");
  if (v.is_undefined()) return Value::list({});
  if (!v.is_dict()) fail("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, x] : v.dict_ref().items) out.push_back(Value::list({Value(k), x}, /*tuple=*/true));
  return Value::list(std::move(out));
}

Value f_attr(Evaluator&, const Value& v, CallArgs& a) {
  const auto p = bind_args(a, {"name"}, "attr");
  return get_attr(v, p[0].to_str());
}

Value f_wordcount(Evaluator&, const Value& v, CallArgs& a) {
  bind_args(a, {}, "wordcount");
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : decode_utf8(v.to_str())) {
    const bool w = py_isalnum(c) || c == '_';  // Python's regex \w
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value(n);
}

const FilterTable& filters() {
  static const FilterTable kFilters = [] {
    FilterTable t = {
        {"default", f_default},
        {"d", f_default},
        {"trim", f_trim},
        {"upper", f_upper},
        {"lower", f_lower},
        {"title", f_title},
        {"capitalize", f_capitalize},
        {"string", f_string},
        {"safe", f_string},
        {"escape", f_escape},
        {"e", f_escape},
        {"forceescape", f_escape},
        {"replace", f_replace},
        {"indent", f_indent},
        {"center", f_center},
        {"int", f_int},
        {"float", f_float},
        {"abs", f_abs},
        {"round", f_round},
        {"tojson", f_tojson},
        {"items", f_items},
        {"attr", f_attr},
        {"wordcount", f_wordcount},
    };
    add_sequence_filters(t);
    return t;
  }();
  return kFilters;
}

}  // namespace

FilterFn find_filter(std::string_view name) {
  auto it = filters().find(name);
  return it == filters().end() ? nullptr : it->second;
}

}  // namespace cpplm::jinja
