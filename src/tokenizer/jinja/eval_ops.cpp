// Operators, comparisons, attribute/item access and slicing with Python and jinja2 semantics.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/unicode.h"

namespace cpplm::jinja {

void fail_undefined(const Value& v) { fail(v.str().empty() ? "value is undefined" : v.str()); }

namespace {

std::string object_name(const Value& v) {
  if (v.is_none()) return "'None'";
  std::string s(1, '\'');
  s += v.type_name();
  s += " object'";
  return s;
}

[[noreturn]] void fail_operands(const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (op == "+" && a.is_string()) fail("can only concatenate str (not \"" + b.type_name() + "\") to str");
  fail("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
}

void check_overflow(bool overflow) {
  if (overflow) fail("integer overflow");
}

Value repeat(const Value& seq, int64_t n, const Evaluator& ev) {
  const size_t unit = seq.is_string() ? seq.str().size() : seq.items().size() * 16;
  if (n <= 0 || unit == 0) return seq.is_string() ? Value(std::string()) : Value::list({}, seq.is_tuple());
  uint64_t total = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(unit), static_cast<uint64_t>(n), &total)) total = UINT64_MAX;
  ev.check_size(static_cast<size_t>(std::min<uint64_t>(total, SIZE_MAX)));
  if (seq.is_string()) {
    std::string out;
    out.reserve(static_cast<size_t>(total));
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return Value(std::move(out));
  }
  std::vector<Value> out;
  out.reserve(static_cast<size_t>(total / 16));
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.items().begin(), seq.items().end());
  return Value::list(std::move(out), seq.is_tuple());
}

// CPython float_divmod.
void float_divmod(double a, double b, double* div, double* mod) {
  if (b == 0.0) fail("float division by zero");
  double m = std::fmod(a, b);
  double d = (a - m) / b;
  if (m != 0.0) {
    if ((b < 0) != (m < 0)) {
      m += b;
      d -= 1.0;
    }
  } else {
    m = std::copysign(0.0, b);
  }
  double f;
  if (d != 0.0) {
    f = std::floor(d);
    if (d - f > 0.5) f += 1.0;
  } else {
    f = std::copysign(0.0, a / b);
  }
  *div = f;
  *mod = m;
}

Value arith(const std::string& op, const Value& a, const Value& b) {
  if (a.is_integral() && b.is_integral()) {
    const int64_t x = a.as_int();
    const int64_t y = b.as_int();
    int64_t r = 0;
    if (op == "+") {
      check_overflow(__builtin_add_overflow(x, y, &r));
      return Value(r);
    }
    if (op == "-") {
      check_overflow(__builtin_sub_overflow(x, y, &r));
      return Value(r);
    }
    if (op == "*") {
      check_overflow(__builtin_mul_overflow(x, y, &r));
      return Value(r);
    }
    if (op == "/") {
      if (y == 0) fail("division by zero");
      return Value(static_cast<double>(x) / static_cast<double>(y));
    }
    if (op == "//" || op == "%") {
      if (y == 0) fail("integer division or modulo by zero");
      if (x == INT64_MIN && y == -1) fail("integer overflow");
      int64_t q = x / y;
      int64_t m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        m += y;
        q -= 1;
      }
      return Value(op == "//" ? q : m);
    }
    if (op == "**") {
      if (y < 0) {
        if (x == 0) fail("0.0 cannot be raised to a negative power");
        return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
      }
      int64_t result = 1;
      int64_t base = x;
      int64_t e = y;
      while (e > 0) {
        if (e & 1) check_overflow(__builtin_mul_overflow(result, base, &result));
        e >>= 1;
        if (e > 0) check_overflow(__builtin_mul_overflow(base, base, &base));
      }
      return Value(result);
    }
  }
  const double x = a.as_double();
  const double y = b.as_double();
  if (op == "+") return Value(x + y);
  if (op == "-") return Value(x - y);
  if (op == "*") return Value(x * y);
  if (op == "/") {
    if (y == 0.0) fail("float division by zero");
    return Value(x / y);
  }
  double d = 0, m = 0;
  if (op == "//") {
    float_divmod(x, y, &d, &m);
    return Value(d);
  }
  if (op == "%") {
    float_divmod(x, y, &d, &m);
    return Value(m);
  }
  if (x == 0.0 && y < 0) fail("0.0 cannot be raised to a negative power");
  if (x < 0 && y != std::floor(y)) fail("negative number cannot be raised to a fractional power");
  return Value(std::pow(x, y));
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b, const Evaluator& ev) {
  if (op == "~") {
    std::string s = a.to_str();
    const std::string t = b.to_str();
    ev.check_size(s.size() + t.size());
    return Value(s + t);
  }
  if (a.is_number() && b.is_number()) return arith(op, a, b);
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      ev.check_size(a.str().size() + b.str().size());
      return Value(a.str() + b.str());
    }
    if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
      std::vector<Value> items = a.items();
      items.insert(items.end(), b.items().begin(), b.items().end());
      return Value::list(std::move(items), a.is_tuple());
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && b.is_integral()) return repeat(a, b.as_int(), ev);
    if ((b.is_string() || b.is_list()) && a.is_integral()) return repeat(b, a.as_int(), ev);
  }
  fail_operands(op, a, b);
}

Value unary_op(const std::string& op, const Value& a) {
  if (a.is_undefined()) fail_undefined(a);
  if (!a.is_number()) fail("bad operand type for unary " + op + ": '" + a.type_name() + "'");
  if (op == "+") return a.is_bool() ? Value(a.as_int()) : a;
  if (a.is_float()) return Value(-a.as_double());
  if (a.as_int() == INT64_MIN) fail("integer overflow");
  return Value(-a.as_int());
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::String:
      if (!item.is_string()) fail("'in <string>' requires string as left operand, not " + item.type_name());
      return container.str().find(item.str()) != std::string::npos;
    case Kind::List:
      for (const auto& e : container.items())
        if (values_equal(e, item)) return true;
      return false;
    case Kind::Dict: return item.is_string() && container.dict_ref().find(item.str()) != nullptr;
    case Kind::Undefined: fail_undefined(container);
    default: fail("argument of type '" + container.type_name() + "' is not iterable");
  }
}

bool compare_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return values_equal(a, b);
  if (op == "!=") return !values_equal(a, b);
  if (op == "in") return contains(b, a);
  if (op == "notin") return !contains(b, a);
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  bool ok = true;
  bool r = false;
  if (op == "<") r = value_less(a, b, &ok);
  else if (op == ">") r = value_less(b, a, &ok);
  else if (op == "<=") r = !value_less(b, a, &ok);
  else if (op == ">=") r = !value_less(a, b, &ok);
  if (!ok) fail("'" + op + "' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
  return r;
}

Value get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (const MethodFn m = find_method(obj, name)) {
    Value self = obj;
    return Value::callable(name, [m, self](CallArgs& a, Evaluator& ev) { return m(ev, self, a); });
  }
  if (obj.is_dict() || obj.is_namespace()) {
    if (const Value* v = obj.dict_ref().find(name)) return *v;
  }
  return Value::undefined(object_name(obj) + " has no attribute '" + name + "'");
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail_undefined(obj);
  if ((obj.is_dict() || obj.is_namespace()) && key.is_string()) {
    if (const Value* v = obj.dict_ref().find(key.str())) return *v;
  }
  if ((obj.is_list() || obj.is_string()) && key.is_integral()) {
    int64_t i = key.as_int();
    if (obj.is_list()) {
      const auto n = static_cast<int64_t>(obj.items().size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return obj.items()[static_cast<size_t>(i)];
    } else {
      const std::u32string cps = decode_utf8(obj.str());
      const auto n = static_cast<int64_t>(cps.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return Value(encode_utf8(std::u32string(1, cps[static_cast<size_t>(i)])));
    }
    return Value::undefined(object_name(obj) + " has no element " + key.repr());
  }
  if (key.is_string()) return get_attr(obj, key.str());  // jinja2 falls back to the attribute
  return Value::undefined(object_name(obj) + " has no element " + key.repr());
}

Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) fail_undefined(obj);
  for (const Value* v : {&start, &stop, &step}) {
    if (!v->is_none() && !v->is_integral()) return Value::undefined("slice indices must be integers or None");
  }
  if (!obj.is_list() && !obj.is_string()) return Value::undefined(object_name(obj) + " is not subscriptable");
  const int64_t st = step.is_none() ? 1 : step.as_int();
  if (st == 0) fail("slice step cannot be zero");
  const std::u32string cps = obj.is_string() ? decode_utf8(obj.str()) : std::u32string();
  const int64_t n = obj.is_string() ? static_cast<int64_t>(cps.size()) : static_cast<int64_t>(obj.items().size());
  // PySlice_AdjustIndices.
  auto adjust = [&](const Value& v, int64_t dflt) {
    if (v.is_none()) return dflt;
    int64_t x = v.as_int();
    if (x < 0) {
      x = x < -n ? (st < 0 ? -1 : 0) : x + n;
    } else if (x >= n) {
      x = st < 0 ? n - 1 : n;
    }
    return x;
  };
  const int64_t b = adjust(start, st < 0 ? n - 1 : 0);
  const int64_t e = adjust(stop, st < 0 ? -1 : n);
  std::vector<size_t> idx;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) {
    idx.push_back(static_cast<size_t>(i));
    if ((st > 0 && i > INT64_MAX - st) || (st < 0 && i < INT64_MIN - st)) break;
  }
  if (obj.is_string()) {
    std::u32string out;
    for (size_t i : idx) out.push_back(cps[i]);
    return Value(encode_utf8(out));
  }
  std::vector<Value> out;
  for (size_t i : idx) out.push_back(obj.items()[i]);
  return Value::list(std::move(out), obj.is_tuple());
}

std::vector<Value> iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined: return {};
    case Kind::List: return v.items();
    case Kind::Dict: {
      std::vector<Value> keys;
      for (const auto& kv : v.dict_ref().items) keys.emplace_back(kv.first);
      return keys;
    }
    case Kind::String: {
      std::vector<Value> chars;
      for (char32_t c : decode_utf8(v.str())) chars.emplace_back(encode_utf8(std::u32string(1, c)));
      return chars;
    }
    default: fail("'" + v.type_name() + "' object is not iterable");
  }
}

}  // namespace cpplm::jinja
