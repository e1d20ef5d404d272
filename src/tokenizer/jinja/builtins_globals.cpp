// Global functions (range, dict, namespace, raise_exception, strftime_now) and argument binding for builtins.
#include <ctime>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/evaluator.h"

namespace cpplm::jinja {

std::vector<Value> bind_args(CallArgs& args, std::initializer_list<const char*> names, const char* fn_name) {
  std::vector<Value> out(names.size());
  std::vector<bool> given(names.size(), false);
  if (args.args.size() > names.size()) {
    fail(std::string(fn_name) + "() takes at most " + std::to_string(names.size()) + " argument(s) (" +
         std::to_string(args.args.size()) + " given)");
  }
  for (size_t i = 0; i < args.args.size(); ++i) {
    out[i] = args.args[i];
    given[i] = true;
  }
  for (auto& [k, v] : args.kwargs) {
    size_t i = 0;
    for (const char* n : names) {
      if (k == n) break;
      ++i;
    }
    if (i == names.size()) fail(std::string(fn_name) + "() got an unexpected keyword argument '" + k + "'");
    if (given[i]) fail(std::string(fn_name) + "() got multiple values for argument '" + k + "'");
    out[i] = v;
    given[i] = true;
  }
  return out;
}

int64_t int_arg(const Value& v, const char* what) {
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_integral()) fail(std::string(what) + " must be an integer, not " + v.type_name());
  return v.as_int();
}

namespace {

// jinja2.sandbox.MAX_RANGE: the sandbox transformers uses refuses longer ranges.
constexpr int64_t kMaxRange = 100000;

Value g_range(CallArgs& a, Evaluator& ev) {
  if (!a.kwargs.empty()) fail("range() takes no keyword arguments");
  if (a.args.empty() || a.args.size() > 3) fail("range expected 1 to 3 arguments");
  int64_t start = 0;
  int64_t stop = 0;
  int64_t step = 1;
  if (a.args.size() == 1) {
    stop = int_arg(a.args[0], "range() argument");
  } else {
    start = int_arg(a.args[0], "range() argument");
    stop = int_arg(a.args[1], "range() argument");
    if (a.args.size() == 3) step = int_arg(a.args[2], "range() argument");
  }
  if (step == 0) fail("range() arg 3 must not be zero");
  std::vector<Value> out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
    if (static_cast<int64_t>(out.size()) >= kMaxRange) {
      fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    }
    out.emplace_back(i);
    if (__builtin_add_overflow(i, step, &i)) break;
  }
  ev.step();
  return Value::list(std::move(out));
}

Dict dict_from(CallArgs& a, const char* fn) {
  Dict d;
  if (a.args.size() > 1) fail(std::string(fn) + " expected at most 1 positional argument");
  if (a.args.size() == 1) {
    const Value& src = a.args[0];
    if (src.is_dict()) {
      d = src.dict_ref();
    } else if (src.is_list()) {
      for (const auto& pair : src.items()) {
        if (!pair.is_list() || pair.items().size() != 2 || !pair.items()[0].is_string()) {
          fail(std::string(fn) + ": expected a sequence of (str, value) pairs");
        }
        d.set(pair.items()[0].str(), pair.items()[1]);
      }
    } else if (!src.is_undefined()) {
      fail(std::string(fn) + ": cannot convert '" + src.type_name() + "' to a dict");
    }
  }
  for (auto& [k, v] : a.kwargs) d.set(k, v);
  return d;
}

Value g_dict(CallArgs& a, Evaluator&) { return Value::dict(dict_from(a, "dict()")); }

Value g_namespace(CallArgs& a, Evaluator& ev) { return ev.make_namespace(dict_from(a, "namespace()")); }

// transformers: raise TemplateError(message).
Value g_raise_exception(CallArgs& a, Evaluator&) {
  std::string msg = a.args.empty() ? std::string() : a.args[0].to_str();
  fail(msg);
}

// transformers: datetime.now().strftime(format).
Value g_strftime_now(CallArgs& a, Evaluator& ev) {
  const auto v = bind_args(a, {"format"}, "strftime_now");
  if (!v[0].is_string()) fail("strftime_now() argument must be str, not " + v[0].type_name());
  const std::string& fmt = v[0].str();
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  for (size_t cap = 256 + fmt.size() * 4; cap <= (size_t{1} << 20); cap *= 4) {
    ev.check_size(cap);
    std::string buf(cap, '\0');
    const size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
    if (n > 0 || fmt.empty()) {
      buf.resize(n);
      return Value(std::move(buf));
    }
  }
  fail("strftime_now() result too long");
}

}  // namespace

void add_globals(Dict& globals) {
  globals.set("range", Value::callable("range", g_range));
  globals.set("dict", Value::callable("dict", g_dict));
  globals.set("namespace", Value::callable("namespace", g_namespace));
  globals.set("raise_exception", Value::callable("raise_exception", g_raise_exception));
  globals.set("strftime_now", Value::callable("strftime_now", g_strftime_now));
}

}  // namespace cpplm::jinja
