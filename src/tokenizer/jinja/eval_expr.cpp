// Expression evaluation: names, literals, attribute/item access, calls, filters, tests and operators.
#include <stdexcept>

#include "core/error.h"
#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/evaluator.h"

namespace cpplm::jinja {

Value Evaluator::eval(const Expr& e, Scope& scope) {
  try {
    DepthGuard guard(*this);
    step();
    return eval_inner(e, scope);
  } catch (const Fail& f) {
    throw Error(map_.where(e.pos) + ": " + f.msg);
  } catch (const std::invalid_argument& x) {
    throw Error(map_.where(e.pos) + ": " + x.what());
  } catch (const std::length_error& x) {
    throw Error(map_.where(e.pos) + ": " + x.what());
  }
}

void Evaluator::eval_args(const Expr& e, size_t first, Scope& scope, CallArgs& out) {
  for (size_t i = first; i < e.children.size(); ++i) out.args.push_back(eval(*e.children[i], scope));
  for (const auto& [k, v] : e.kwargs) out.kwargs.emplace_back(k, eval(*v, scope));
}

Value Evaluator::call(const Value& fn, CallArgs& args) {
  if (fn.is_undefined()) fail_undefined(fn);
  if (!fn.is_callable()) fail("'" + fn.type_name() + "' object is not callable");
  return fn.callable_ref().fn(args, *this);
}

Value Evaluator::apply_filter(const std::string& name, const Value& input, CallArgs& args) {
  const FilterFn f = find_filter(name);
  if (!f) fail("no filter named '" + name + "' found");
  return f(*this, input, args);
}

bool Evaluator::apply_test(const std::string& name, const Value& input, CallArgs& args) {
  const TestFn t = find_test(name);
  if (!t) fail("no test named '" + name + "' found");
  return t(*this, input, args);
}

Value Evaluator::eval_call(const Expr& e, Scope& scope, const Value* caller) {
  const Expr& callee = *e.children[0];
  CallArgs args;
  Value fn;
  if (callee.type == ExprType::Attr) {
    const Value obj = eval(*callee.children[0], scope);
    if (const MethodFn m = find_method(obj, callee.name)) {
      eval_args(e, 1, scope, args);
      if (caller) args.kwargs.emplace_back("caller", *caller);
      return m(*this, obj, args);
    }
    fn = get_attr(obj, callee.name);
  } else {
    fn = eval(callee, scope);
  }
  eval_args(e, 1, scope, args);
  if (caller) args.kwargs.emplace_back("caller", *caller);
  return call(fn, args);
}

Value Evaluator::eval_compare(const Expr& e, Scope& scope) {
  Value left = eval(*e.children[0], scope);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.children[i + 1], scope);
    if (!compare_op(e.ops[i], left, right)) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

Value Evaluator::eval_inner(const Expr& e, Scope& scope) {
  switch (e.type) {
    case ExprType::Const: return e.value;
    case ExprType::Name: {
      if (const Value* v = scope.lookup(e.name)) return *v;
      return Value::undefined("'" + e.name + "' is undefined");
    }
    case ExprType::List:
    case ExprType::Tuple: {
      std::vector<Value> items;
      items.reserve(e.children.size());
      for (const auto& c : e.children) items.push_back(eval(*c, scope));
      return Value::list(std::move(items), /*tuple=*/e.type == ExprType::Tuple);
    }
    case ExprType::Dict: {
      Dict d;
      for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
        Value key = eval(*e.children[i], scope);
        if (!key.is_string()) fail("dict keys must be strings (got " + key.type_name() + ")");
        d.set(key.str(), eval(*e.children[i + 1], scope));
      }
      return Value::dict(std::move(d));
    }
    case ExprType::Attr: return get_attr(eval(*e.children[0], scope), e.name);
    case ExprType::Item: {
      const Value obj = eval(*e.children[0], scope);
      return get_item(obj, eval(*e.children[1], scope));
    }
    case ExprType::Slice: {
      const Value obj = eval(*e.children[0], scope);
      Value parts[3];
      for (int i = 0; i < 3; ++i) {
        parts[i] = e.children[i + 1] ? eval(*e.children[i + 1], scope) : Value::none();
      }
      return slice(obj, parts[0], parts[1], parts[2]);
    }
    case ExprType::Call: return eval_call(e, scope, nullptr);
    case ExprType::Filter: {
      const Value input = e.children[0] ? eval(*e.children[0], scope) : *filter_block_input_;
      CallArgs args;
      eval_args(e, 1, scope, args);
      return apply_filter(e.name, input, args);
    }
    case ExprType::Test: {
      const Value input = eval(*e.children[0], scope);
      CallArgs args;
      eval_args(e, 1, scope, args);
      const bool r = apply_test(e.name, input, args);
      return Value(e.negated ? !r : r);
    }
    case ExprType::Unary: return unary_op(e.name, eval(*e.children[0], scope));
    case ExprType::Binary: {
      const Value a = eval(*e.children[0], scope);
      return binary_op(e.name, a, eval(*e.children[1], scope), *this);
    }
    case ExprType::Compare: return eval_compare(e, scope);
    case ExprType::And: {
      Value a = eval(*e.children[0], scope);
      return a.truthy() ? eval(*e.children[1], scope) : a;
    }
    case ExprType::Or: {
      Value a = eval(*e.children[0], scope);
      return a.truthy() ? a : eval(*e.children[1], scope);
    }
    case ExprType::Not: return Value(!eval(*e.children[0], scope).truthy());
    case ExprType::Cond: {
      if (eval(*e.children[0], scope).truthy()) return eval(*e.children[1], scope);
      if (e.children[2]) return eval(*e.children[2], scope);
      return Value::undefined("the inline if-expression evaluated to false and no else section was defined");
    }
  }
  return Value();
}

}  // namespace cpplm::jinja
