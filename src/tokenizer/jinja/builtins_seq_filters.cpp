// Sequence filters (length, first, join, map, select*, sort, unique, ...) as jinja2's filters.py defines them.
#include <algorithm>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/unicode.h"

namespace cpplm::jinja {

namespace {

// jinja2 make_attrgetter: "a.b.0" walks items (digits become indexes).
Value get_path(const Value& item, const Value& attribute) {
  if (attribute.is_integral()) return get_item(item, attribute);
  Value cur = item;
  const std::string path = attribute.to_str();
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool digits =
        !part.empty() && part.size() < 18 && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    cur = get_item(cur, digits ? Value(static_cast<int64_t>(std::stoll(part))) : Value(part));
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

Value ignore_case(const Value& v) { return v.is_string() ? Value(str_lower(v.str())) : v; }

bool less_or_fail(const Value& a, const Value& b) {
  bool ok = true;
  const bool r = value_less(a, b, &ok);
  if (!ok) fail("'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
  return r;
}

Value f_length(Evaluator&, const Value& v, CallArgs& a) {
  bind_args(a, {}, "length");
  switch (v.kind()) {
    case Kind::Undefined: return Value(0);
    case Kind::String: return Value(static_cast<int64_t>(count_code_points(v.str())));
    case Kind::List: return Value(static_cast<int64_t>(v.items().size()));
    case Kind::Dict: return Value(static_cast<int64_t>(v.dict_ref().items.size()));
    default: fail("object of type '" + v.type_name() + "' has no len()");
  }
}

Value f_first(Evaluator&, const Value& v, CallArgs& a) {
  bind_args(a, {}, "first");
  const std::vector<Value> items = iterate(v);
  return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}

Value f_last(Evaluator&, const Value& v, CallArgs& a) {
  bind_args(a, {}, "last");
  const std::vector<Value> items = iterate(v);
  return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}

Value f_list(Evaluator&, const Value& v, CallArgs& a) {
  bind_args(a, {}, "list");
  return Value::list(iterate(v));
}

Value f_reverse(Evaluator&, const Value& v, CallArgs& a) {
  bind_args(a, {}, "reverse");
  if (v.is_string()) {
    std::u32string cps = decode_utf8(v.str());
    std::reverse(cps.begin(), cps.end());
    return Value(encode_utf8(cps));
  }
  std::vector<Value> items = iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::list(std::move(items));
}

Value f_join(Evaluator& ev, const Value& v, CallArgs& a) {
  const auto p = bind_args(a, {"d", "attribute"}, "join");
  const std::string sep = p[0].is_undefined() ? std::string() : p[0].to_str();
  std::vector<std::string> parts;
  size_t total = 0;
  for (const auto& item : iterate(v)) {
    parts.push_back((p[1].is_undefined() || p[1].is_none()) ? item.to_str() : get_path(item, p[1]).to_str());
    total += parts.back().size() + sep.size();
  }
  ev.check_size(total);
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return Value(std::move(out));
}

Value f_map(Evaluator& ev, const Value& v, CallArgs& a) {
  if (!v.truthy()) return Value::list({});
  std::vector<Value> out;
  if (a.args.empty()) {
    const auto p = bind_args(a, {"attribute", "default"}, "map");
    if (p[0].is_undefined()) fail("map requires a filter argument");
    for (const auto& item : iterate(v)) {
      Value x = get_path(item, p[0]);
      if (x.is_undefined() && !p[1].is_undefined() && !p[1].is_none()) x = p[1];
      out.push_back(std::move(x));
    }
    return Value::list(std::move(out));
  }
  const std::string name = a.args[0].to_str();
  CallArgs rest;
  rest.args.assign(a.args.begin() + 1, a.args.end());
  rest.kwargs = a.kwargs;
  for (const auto& item : iterate(v)) {
    CallArgs call = rest;
    out.push_back(ev.apply_filter(name, item, call));
  }
  return Value::list(std::move(out));
}

Value select_or_reject(Evaluator& ev, const Value& v, CallArgs& a, bool keep, bool by_attr) {
  std::vector<Value> out;
  if (!v.truthy()) return Value::list({});
  size_t i = 0;
  Value attr;
  if (by_attr) {
    if (a.args.empty()) fail("selectattr/rejectattr need an attribute name");
    attr = a.args[i++];
  }
  const bool has_test = i < a.args.size();
  const std::string test = has_test ? a.args[i++].to_str() : std::string();
  CallArgs rest;
  rest.args.assign(a.args.begin() + static_cast<std::ptrdiff_t>(i), a.args.end());
  rest.kwargs = a.kwargs;
  for (const auto& item : iterate(v)) {
    const Value x = by_attr ? get_path(item, attr) : item;
    CallArgs call = rest;
    const bool pass = has_test ? ev.apply_test(test, x, call) : x.truthy();
    if (pass == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}
Value f_select(Evaluator& ev, const Value& v, CallArgs& a) { return select_or_reject(ev, v, a, true, false); }
Value f_reject(Evaluator& ev, const Value& v, CallArgs& a) { return select_or_reject(ev, v, a, false, false); }
Value f_selectattr(Evaluator& ev, const Value& v, CallArgs& a) { return select_or_reject(ev, v, a, true, true); }
Value f_rejectattr(Evaluator& ev, const Value& v, CallArgs& a) { return select_or_reject(ev, v, a, false, true); }

// Sort key of make_multi_attrgetter/make_attrgetter: attribute values, lowercased unless case_sensitive.
Value sort_key(const Value& item, const Value& attribute, bool case_sensitive) {
  if (attribute.is_undefined() || attribute.is_none()) return case_sensitive ? item : ignore_case(item);
  Value x = get_path(item, attribute);
  return case_sensitive ? x : ignore_case(x);
}

Value f_sort(Evaluator&, const Value& v, CallArgs& a) {
  const auto p = bind_args(a, {"reverse", "case_sensitive", "attribute"}, "sort");
  std::vector<Value> items = iterate(v);
  std::vector<std::pair<Value, size_t>> keyed;
  for (size_t i = 0; i < items.size(); ++i) {
    if (p[2].is_string() && p[2].str().find(',') != std::string::npos) {
      std::vector<Value> parts;
      size_t start = 0;
      const std::string& spec = p[2].str();
      while (true) {
        const size_t c = spec.find(',', start);
        parts.push_back(sort_key(items[i], Value(spec.substr(start, c - start)), p[1].truthy()));
        if (c == std::string::npos) break;
        start = c + 1;
      }
      keyed.emplace_back(Value::list(std::move(parts)), i);
    } else {
      keyed.emplace_back(sort_key(items[i], p[2], p[1].truthy()), i);
    }
  }
  const bool reverse = p[0].truthy();
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? less_or_fail(y.first, x.first) : less_or_fail(x.first, y.first);
  });
  std::vector<Value> out;
  for (const auto& k : keyed) out.push_back(items[k.second]);
  return Value::list(std::move(out));
}

Value f_dictsort(Evaluator&, const Value& v, CallArgs& a) {
  const auto p = bind_args(a, {"case_sensitive", "by", "reverse"}, "dictsort");
  if (!v.is_dict()) fail("dictsort: value is not a mapping");
  const std::string by = p[1].is_undefined() ? "key" : p[1].to_str();
  if (by != "key" && by != "value") fail("You can only sort by either \"key\" or \"value\"");
  std::vector<Value> pairs;
  for (const auto& [k, x] : v.dict_ref().items) pairs.push_back(Value::list({Value(k), x}, /*tuple=*/true));
  const size_t pos = by == "key" ? 0 : 1;
  const bool cs = p[0].truthy();
  const bool reverse = p[2].truthy();
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
    const Value kx = cs ? x.items()[pos] : ignore_case(x.items()[pos]);
    const Value ky = cs ? y.items()[pos] : ignore_case(y.items()[pos]);
    return reverse ? less_or_fail(ky, kx) : less_or_fail(kx, ky);
  });
  return Value::list(std::move(pairs));
}

Value f_unique(Evaluator&, const Value& v, CallArgs& a) {
  const auto p = bind_args(a, {"case_sensitive", "attribute"}, "unique");
  std::vector<Value> out;
  std::vector<Value> seen;
  for (const auto& item : iterate(v)) {
    const Value key = sort_key(item, p[1], p[0].truthy());
    bool dup = false;
    for (const auto& s : seen)
      if (values_equal(s, key)) {
        dup = true;
        break;
      }
    if (dup) continue;
    seen.push_back(key);
    out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value min_or_max(const Value& v, CallArgs& a, bool want_max, const char* fn) {
  const auto p = bind_args(a, {"case_sensitive", "attribute"}, fn);
  const std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  Value best_key = sort_key(items[0], p[1], p[0].truthy());
  for (size_t i = 1; i < items.size(); ++i) {
    Value k = sort_key(items[i], p[1], p[0].truthy());
    if (want_max ? less_or_fail(best_key, k) : less_or_fail(k, best_key)) {
      best = i;
      best_key = std::move(k);
    }
  }
  return items[best];
}
Value f_min(Evaluator&, const Value& v, CallArgs& a) { return min_or_max(v, a, false, "min"); }
Value f_max(Evaluator&, const Value& v, CallArgs& a) { return min_or_max(v, a, true, "max"); }

Value f_sum(Evaluator& ev, const Value& v, CallArgs& a) {
  const auto p = bind_args(a, {"attribute", "start"}, "sum");
  Value total = p[1].is_undefined() ? Value(0) : p[1];
  for (const auto& item : iterate(v)) {
    const Value x = (p[0].is_undefined() || p[0].is_none()) ? item : get_path(item, p[0]);
    total = binary_op("+", total, x, ev);
  }
  return total;
}

}  // namespace

void add_sequence_filters(FilterTable& t) {
  t.insert({{"length", f_length},
            {"count", f_length},
            {"first", f_first},
            {"last", f_last},
            {"list", f_list},
            {"reverse", f_reverse},
            {"join", f_join},
            {"map", f_map},
            {"select", f_select},
            {"reject", f_reject},
            {"selectattr", f_selectattr},
            {"rejectattr", f_rejectattr},
            {"sort", f_sort},
            {"dictsort", f_dictsort},
            {"unique", f_unique},
            {"min", f_min},
            {"max", f_max},
            {"sum", f_sum}});
}

}  // namespace cpplm::jinja
