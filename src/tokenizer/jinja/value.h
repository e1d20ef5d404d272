// Jinja runtime values with Python semantics: undefined, None, bool, int, float, str, list/tuple, dict, callable, namespace.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace cpplm::jinja {

class Value;
class Evaluator;

// Ordered dict with string keys (insertion order, as Python dicts).
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value value);
};

// Arguments of a call: positional then keyword, as written.
struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
};

using NativeFn = std::function<Value(CallArgs&, Evaluator&)>;

struct Callable {
  std::string name;
  NativeFn fn;
};

enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, String, List, Dict, Callable, Namespace };

class Value {
 public:
  Value() = default;  // undefined
  static Value undefined(std::string hint = {});
  static Value none();
  Value(bool b);                                   // NOLINT(google-explicit-constructor)
  Value(int64_t i);                                // NOLINT
  Value(int i) : Value(int64_t{i}) {}              // NOLINT
  Value(double f);                                 // NOLINT
  Value(std::string s);                            // NOLINT
  Value(const char* s) : Value(std::string(s)) {}  // NOLINT
  static Value list(std::vector<Value> items, bool tuple = false);
  static Value dict(Dict d);
  static Value callable(std::string name, NativeFn fn);
  static Value make_namespace(Dict d);
  // nlohmann::json sorts object keys; ordered_json keeps them in document order, as Python dicts do.
  static Value from_json(const nlohmann::json& j);
  static Value from_json(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_float() const { return kind_ == Kind::Float; }
  // Python's numbers: bool is an int.
  bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
  bool is_integral() const { return kind_ == Kind::Int || kind_ == Kind::Bool; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_list() const { return kind_ == Kind::List; }
  bool is_tuple() const { return kind_ == Kind::List && tuple_; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  bool is_callable() const { return kind_ == Kind::Callable; }
  bool is_namespace() const { return kind_ == Kind::Namespace; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::Bool ? int64_t{b_} : i_; }
  double as_double() const { return kind_ == Kind::Float ? f_ : static_cast<double>(as_int()); }
  const std::string& str() const { return s_; }  // string contents, or an undefined value's hint
  const std::vector<Value>& items() const { return *list_; }
  const Dict& dict_ref() const { return *dict_; }
  Dict& namespace_ref() const { return *dict_; }  // namespaces are the one mutable container
  const Callable& callable_ref() const { return *fn_; }

  bool truthy() const;
  // Python str(): what {{ value }} prints (undefined prints "").
  std::string to_str() const;
  // Python repr(): how the value prints inside a list or dict.
  std::string repr() const;
  // Python type name for messages ("str", "int", "dict", ...).
  std::string type_name() const;
  nlohmann::json to_json() const;  // throws std::invalid_argument for values JSON cannot hold
  // Approximate memory the value stands for: 16 per element plus string bytes (shared parts counted each time).
  uint64_t weight() const { return weight_; }

 private:
  Kind kind_ = Kind::Undefined;
  bool tuple_ = false;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  uint64_t weight_ = 16;
  uint16_t depth_ = 0;  // container nesting; bounded so that recursion over values cannot overflow the stack
  std::string s_;
  std::shared_ptr<const std::vector<Value>> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<const Callable> fn_;
};

// Largest weight() a list or dict may reach (std::length_error beyond), and the longest text
// repr()/dump_json() produce. Per thread; the evaluator sets it from Limits while it renders.
void set_max_value_size(uint64_t bytes);
uint64_t max_value_size();

// Python ==, with 1 == 1.0 == True and (1,) != [1].
bool values_equal(const Value& a, const Value& b);
// Python <; returns false and sets *ok=false when the types do not order.
bool value_less(const Value& a, const Value& b, bool* ok);

// Python float repr (shortest round-trip, "1.0", "1e+16", "inf").
std::string format_float(double f);
// Python repr() of a str.
std::string repr_string(std::string_view s);

struct JsonOptions {
  int indent = -1;         // < 0: single line
  std::string indent_str;  // when set, used instead of `indent` spaces
  std::string item_sep = ", ";
  std::string key_sep = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};
// json.dumps(value, ...) byte-for-byte; throws std::invalid_argument for undefined or callables.
std::string dump_json(const Value& v, const JsonOptions& opt);

}  // namespace cpplm::jinja
