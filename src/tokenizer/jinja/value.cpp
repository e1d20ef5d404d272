// Value construction, truthiness, equality and ordering with Python semantics; JSON conversion.
#include "tokenizer/jinja/value.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace cpplm::jinja {

namespace {
thread_local uint64_t max_size = uint64_t{1} << 31;

// Lists and dicts nest at most this deep (JSON input is limited to 512 levels).
constexpr uint16_t kMaxNesting = 600;

uint16_t checked_depth(uint16_t child_depth) {
  if (child_depth >= kMaxNesting) throw std::length_error("value nested too deeply");
  return static_cast<uint16_t>(child_depth + 1);
}

uint64_t checked_weight(uint64_t w) {
  if (w > max_size) throw std::length_error("value too large (limit " + std::to_string(max_size) + " bytes)");
  return w;
}
}  // namespace

void set_max_value_size(uint64_t bytes) { max_size = bytes; }
uint64_t max_value_size() { return max_size; }

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Dict::set(const std::string& key, Value value) {
  for (auto& [k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(key, std::move(value));
}

Value Value::undefined(std::string hint) {
  Value v;
  v.s_ = std::move(hint);
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::None;
  return v;
}

Value::Value(bool b) : kind_(Kind::Bool), b_(b) {}
Value::Value(int64_t i) : kind_(Kind::Int), i_(i) {}
Value::Value(double f) : kind_(Kind::Float), f_(f) {}
Value::Value(std::string s) : kind_(Kind::String), weight_(16 + s.size()), s_(std::move(s)) {}

Value Value::list(std::vector<Value> items, bool tuple) {
  Value v;
  v.kind_ = Kind::List;
  v.tuple_ = tuple;
  uint64_t w = 16;
  uint16_t d = 0;
  for (const auto& e : items) {
    w += e.weight_;
    d = std::max(d, e.depth_);
  }
  v.weight_ = checked_weight(w);
  v.depth_ = checked_depth(d);
  v.list_ = std::make_shared<const std::vector<Value>>(std::move(items));
  return v;
}

Value Value::dict(Dict d) {
  Value v;
  v.kind_ = Kind::Dict;
  uint64_t w = 16;
  uint16_t depth = 0;
  for (const auto& [k, e] : d.items) {
    w += 16 + k.size() + e.weight_;
    depth = std::max(depth, e.depth_);
  }
  v.weight_ = checked_weight(w);
  v.depth_ = checked_depth(depth);
  v.dict_ = std::make_shared<Dict>(std::move(d));
  return v;
}

Value Value::callable(std::string name, NativeFn fn) {
  Value v;
  v.kind_ = Kind::Callable;
  v.fn_ = std::make_shared<const Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

Value Value::make_namespace(Dict d) {
  Value v = dict(std::move(d));
  v.kind_ = Kind::Namespace;
  v.weight_ = 16;  // mutable: its contents are not counted
  v.depth_ = 0;
  return v;
}

namespace {
template <typename Json>
Value from_json_at(const Json& j, int depth);
}  // namespace

Value Value::from_json(const nlohmann::json& j) { return from_json_at(j, 0); }
Value Value::from_json(const nlohmann::ordered_json& j) { return from_json_at(j, 0); }

namespace {
template <typename Json>
Value from_json_at(const Json& j, int depth) {
  // Deeply nested input (a hostile tool schema) would otherwise exhaust the stack here.
  if (depth > 512) throw std::length_error("JSON nested deeper than 512 levels");
  switch (j.type()) {
    case Json::value_t::null: return Value::none();
    case Json::value_t::boolean: return Value(j.template get<bool>());
    case Json::value_t::number_integer: return Value(j.template get<int64_t>());
    case Json::value_t::number_unsigned: {
      const auto u = j.template get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<int64_t>(u));
      return Value(static_cast<double>(u));
    }
    case Json::value_t::number_float: return Value(j.template get<double>());
    case Json::value_t::string: return Value(j.template get<std::string>());
    case Json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json_at(e, depth + 1));
      return Value::list(std::move(items));
    }
    case Json::value_t::object: {
      Dict d;
      d.items.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) d.items.emplace_back(it.key(), from_json_at(it.value(), depth + 1));
      return Value::dict(std::move(d));
    }
    default: return Value::none();  // binary / discarded: not produced by JSON parsing
  }
}
}  // namespace

bool Value::truthy() const {
  switch (kind_) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool: return b_;
    case Kind::Int: return i_ != 0;
    case Kind::Float: return f_ != 0.0;
    case Kind::String: return !s_.empty();
    case Kind::List: return !list_->empty();
    case Kind::Dict: return !dict_->items.empty();
    case Kind::Callable:
    case Kind::Namespace: return true;
  }
  return false;
}

std::string Value::type_name() const {
  switch (kind_) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::List: return tuple_ ? "tuple" : "list";
    case Kind::Dict: return "dict";
    case Kind::Callable: return "function";
    case Kind::Namespace: return "Namespace";
  }
  return "?";
}

std::string Value::to_str() const {
  switch (kind_) {
    case Kind::Undefined: return "";
    case Kind::String: return s_;
    default: return repr();
  }
}

namespace {
// Self-containing namespaces would recurse forever; Python prints "...", we refuse.
thread_local int repr_depth = 0;
struct DepthGuard {
  DepthGuard() {
    if (++repr_depth > 256) {
      --repr_depth;
      throw std::invalid_argument("value nested too deeply to print");
    }
  }
  ~DepthGuard() { --repr_depth; }
};
}  // namespace

std::string Value::repr() const {
  DepthGuard guard;
  switch (kind_) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "None";
    case Kind::Bool: return b_ ? "True" : "False";
    case Kind::Int: return std::to_string(i_);
    case Kind::Float: return format_float(f_);
    case Kind::String: return repr_string(s_);
    case Kind::List: {
      std::string out = tuple_ ? "(" : "[";
      for (size_t i = 0; i < list_->size(); ++i) {
        if (i) out += ", ";
        out += (*list_)[i].repr();
        checked_weight(out.size());
      }
      if (tuple_ && list_->size() == 1) out += ",";
      return out + (tuple_ ? ")" : "]");
    }
    case Kind::Dict:
    case Kind::Namespace: {
      std::string out = kind_ == Kind::Namespace ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, v] : dict_->items) {
        if (!first) out += ", ";
        first = false;
        out += repr_string(k) + ": " + v.repr();
        checked_weight(out.size());
      }
      return out + (kind_ == Kind::Namespace ? "}>" : "}");
    }
    case Kind::Callable: return "<function " + fn_->name + ">";
  }
  return "";
}

nlohmann::json Value::to_json() const {
  switch (kind_) {
    case Kind::None: return nullptr;
    case Kind::Bool: return b_;
    case Kind::Int: return i_;
    case Kind::Float: return f_;
    case Kind::String: return s_;
    case Kind::List: {
      auto arr = nlohmann::json::array();
      for (const auto& e : *list_) arr.push_back(e.to_json());
      return arr;
    }
    case Kind::Dict: {
      auto obj = nlohmann::json::object();
      for (const auto& [k, v] : dict_->items) obj[k] = v.to_json();
      return obj;
    }
    default: throw std::invalid_argument("Object of type " + type_name() + " is not JSON serializable");
  }
}

bool values_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::Undefined:
    case Kind::None: return true;
    case Kind::String: return a.str() == b.str();
    case Kind::List: {
      if (a.is_tuple() != b.is_tuple() || a.items().size() != b.items().size()) return false;
      for (size_t i = 0; i < a.items().size(); ++i) {
        if (!values_equal(a.items()[i], b.items()[i])) return false;
      }
      return true;
    }
    case Kind::Dict: {
      const auto& da = a.dict_ref().items;
      if (da.size() != b.dict_ref().items.size()) return false;
      for (const auto& [k, v] : da) {
        const Value* o = b.dict_ref().find(k);
        if (!o || !values_equal(v, *o)) return false;
      }
      return true;
    }
    case Kind::Namespace: return &a.namespace_ref() == &b.namespace_ref();
    case Kind::Callable: return &a.callable_ref() == &b.callable_ref();
    default: return false;
  }
}

bool value_less(const Value& a, const Value& b, bool* ok) {
  *ok = true;
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.as_int() < b.as_int();
    return a.as_double() < b.as_double();
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str();  // UTF-8 order is code-point order
  if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (values_equal(x[i], y[i])) continue;
      return value_less(x[i], y[i], ok);
    }
    return x.size() < y.size();
  }
  *ok = false;
  return false;
}

}  // namespace cpplm::jinja
