// Tests ("x is defined", "x is divisibleby 3", ...) as jinja2's tests.py defines them.
#include <cmath>
#include <string>
#include <unordered_map>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/unicode.h"

namespace cpplm::jinja {

namespace {

const Value& arg0(CallArgs& a, const char* test) {
  if (a.args.empty()) fail(std::string("test '") + test + "' needs an argument");
  return a.args[0];
}

bool t_defined(Evaluator&, const Value& v, CallArgs&) { return !v.is_undefined(); }
bool t_undefined(Evaluator&, const Value& v, CallArgs&) { return v.is_undefined(); }
bool t_none(Evaluator&, const Value& v, CallArgs&) { return v.is_none(); }
bool t_boolean(Evaluator&, const Value& v, CallArgs&) { return v.is_bool(); }
bool t_true(Evaluator&, const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); }
bool t_false(Evaluator&, const Value& v, CallArgs&) { return v.is_bool() && !v.as_bool(); }
bool t_integer(Evaluator&, const Value& v, CallArgs&) { return v.is_int(); }
bool t_float(Evaluator&, const Value& v, CallArgs&) { return v.is_float(); }
bool t_number(Evaluator&, const Value& v, CallArgs&) { return v.is_number(); }
bool t_string(Evaluator&, const Value& v, CallArgs&) { return v.is_string(); }
bool t_mapping(Evaluator&, const Value& v, CallArgs&) { return v.is_dict(); }
bool t_callable(Evaluator&, const Value& v, CallArgs&) { return v.is_callable(); }
bool t_escaped(Evaluator&, const Value&, CallArgs&) { return false; }

// Undefined iterates as empty and has a length, so jinja2 counts it as iterable and a sequence.
bool t_iterable(Evaluator&, const Value& v, CallArgs&) { return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict(); }
bool t_sequence(Evaluator& ev, const Value& v, CallArgs& a) { return t_iterable(ev, v, a); }

int64_t int_operand(const Value& v) {
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_float() && v.as_double() == std::floor(v.as_double()) && std::fabs(v.as_double()) < 9e18) {
    return static_cast<int64_t>(v.as_double());
  }
  if (!v.is_integral()) fail("unsupported operand type(s) for %: '" + v.type_name() + "' and 'int'");
  return v.as_int();
}

bool t_odd(Evaluator&, const Value& v, CallArgs&) { return int_operand(v) % 2 != 0; }
bool t_even(Evaluator&, const Value& v, CallArgs&) { return int_operand(v) % 2 == 0; }
bool t_divisibleby(Evaluator&, const Value& v, CallArgs& a) {
  const int64_t d = int_operand(arg0(a, "divisibleby"));
  if (d == 0) fail("integer division or modulo by zero");
  if (d == -1) return true;
  return int_operand(v) % d == 0;
}

bool t_eq(Evaluator&, const Value& v, CallArgs& a) { return compare_op("==", v, arg0(a, "eq")); }
bool t_ne(Evaluator&, const Value& v, CallArgs& a) { return compare_op("!=", v, arg0(a, "ne")); }
bool t_lt(Evaluator&, const Value& v, CallArgs& a) { return compare_op("<", v, arg0(a, "lt")); }
bool t_le(Evaluator&, const Value& v, CallArgs& a) { return compare_op("<=", v, arg0(a, "le")); }
bool t_gt(Evaluator&, const Value& v, CallArgs& a) { return compare_op(">", v, arg0(a, "gt")); }
bool t_ge(Evaluator&, const Value& v, CallArgs& a) { return compare_op(">=", v, arg0(a, "ge")); }
bool t_in(Evaluator&, const Value& v, CallArgs& a) { return contains(arg0(a, "in"), v); }

bool t_sameas(Evaluator&, const Value& v, CallArgs& a) {
  const Value& o = arg0(a, "sameas");
  if (v.is_none() || v.is_bool() || v.is_undefined()) return v.kind() == o.kind() && values_equal(v, o);
  return v.kind() == o.kind() && values_equal(v, o) && (v.is_list() || v.is_dict() || v.is_namespace());
}

bool t_lower(Evaluator&, const Value& v, CallArgs&) { return str_islower(v.to_str()); }
bool t_upper(Evaluator&, const Value& v, CallArgs&) { return str_isupper(v.to_str()); }

bool t_filter(Evaluator&, const Value& v, CallArgs&) { return v.is_string() && find_filter(v.str()); }
bool t_test(Evaluator&, const Value& v, CallArgs&) { return v.is_string() && find_test(v.str()); }

const std::unordered_map<std::string_view, TestFn>& tests() {
  static const std::unordered_map<std::string_view, TestFn> kTests = {
      {"defined", t_defined},
      {"undefined", t_undefined},
      {"none", t_none},
      {"boolean", t_boolean},
      {"true", t_true},
      {"false", t_false},
      {"integer", t_integer},
      {"float", t_float},
      {"number", t_number},
      {"string", t_string},
      {"mapping", t_mapping},
      {"iterable", t_iterable},
      {"sequence", t_sequence},
      {"callable", t_callable},
      {"sameas", t_sameas},
      {"escaped", t_escaped},
      {"odd", t_odd},
      {"even", t_even},
      {"divisibleby", t_divisibleby},
      {"eq", t_eq},
      {"equalto", t_eq},
      {"==", t_eq},
      {"ne", t_ne},
      {"!=", t_ne},
      {"lt", t_lt},
      {"lessthan", t_lt},
      {"<", t_lt},
      {"le", t_le},
      {"<=", t_le},
      {"gt", t_gt},
      {"greaterthan", t_gt},
      {">", t_gt},
      {"ge", t_ge},
      {">=", t_ge},
      {"in", t_in},
      {"lower", t_lower},
      {"upper", t_upper},
      {"filter", t_filter},
      {"test", t_test},
  };
  return kTests;
}

}  // namespace

TestFn find_test(std::string_view name) {
  auto it = tests().find(name);
  return it == tests().end() ? nullptr : it->second;
}

}  // namespace cpplm::jinja
