// Python-exact text forms of values: float repr, str repr, json.dumps.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "tokenizer/jinja/unicode.h"
#include "tokenizer/jinja/value.h"

namespace cpplm::jinja {

namespace {

// Guards against self-containing namespaces, which Python prints with "..." and we refuse.
constexpr int kMaxFormatDepth = 256;

void append_hex(std::string& out, uint32_t v, int digits) {
  static const char* kHex = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out.push_back(kHex[(v >> (4 * i)) & 0xF]);
}

void append_json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out.push_back('"');
  for (char32_t c : decode_utf8(s)) {
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (c < 0x20 || (ensure_ascii && c >= 0x7F)) {
      if (c >= 0x10000) {
        const uint32_t v = c - 0x10000;
        out += "\\u";
        append_hex(out, 0xD800 + (v >> 10), 4);
        out += "\\u";
        append_hex(out, 0xDC00 + (v & 0x3FF), 4);
      } else {
        out += "\\u";
        append_hex(out, c, 4);
      }
      continue;
    }
    append_utf8(out, c);
  }
  out.push_back('"');
}

void dump(std::string& out, const Value& v, const JsonOptions& opt, int level) {
  if (level > kMaxFormatDepth) throw std::invalid_argument("value nested too deeply for tojson");
  if (out.size() > max_value_size()) throw std::length_error("tojson output too large");
  const bool pretty = opt.indent >= 0 || !opt.indent_str.empty();
  auto newline = [&](int lvl) {
    const size_t unit = opt.indent_str.empty() ? static_cast<size_t>(std::max(opt.indent, 0)) : opt.indent_str.size();
    if (out.size() + 1 + unit * static_cast<size_t>(lvl) > max_value_size()) {
      throw std::length_error("tojson output too large");
    }
    out.push_back('\n');
    for (int i = 0; i < lvl; ++i) {
      if (!opt.indent_str.empty()) out += opt.indent_str;
      else out.append(static_cast<size_t>(opt.indent), ' ');
    }
  };
  switch (v.kind()) {
    case Kind::None: out += "null"; return;
    case Kind::Bool: out += v.as_bool() ? "true" : "false"; return;
    case Kind::Int: out += std::to_string(v.as_int()); return;
    case Kind::Float: {
      const double f = v.as_double();
      if (std::isnan(f)) out += "NaN";
      else if (std::isinf(f)) out += f > 0 ? "Infinity" : "-Infinity";
      else out += format_float(f);
      return;
    }
    case Kind::String: append_json_string(out, v.str(), opt.ensure_ascii); return;
    case Kind::List: {
      if (v.items().empty()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.items()) {
        if (!first) out += opt.item_sep;
        first = false;
        if (pretty) newline(level + 1);
        dump(out, e, opt, level + 1);
      }
      if (pretty) newline(level);
      out.push_back(']');
      return;
    }
    case Kind::Dict: {
      if (v.dict_ref().items.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& kv : v.dict_ref().items) entries.push_back(&kv);
      if (opt.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
      }
      out.push_back('{');
      bool first = true;
      for (const auto* kv : entries) {
        if (!first) out += opt.item_sep;
        first = false;
        if (pretty) newline(level + 1);
        append_json_string(out, kv->first, opt.ensure_ascii);
        out += opt.key_sep;
        dump(out, kv->second, opt, level + 1);
      }
      if (pretty) newline(level);
      out.push_back('}');
      return;
    }
    default: throw std::invalid_argument("Object of type " + v.type_name() + " is not JSON serializable");
  }
}

}  // namespace

std::string format_float(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // e.g. "-1.2345e+02"
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  if (digits.size() > 1) digits.erase(1, 1);  // drop the '.'
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int exp = std::stoi(sci.substr(e + 1));
  const int nd = static_cast<int>(digits.size());
  std::string out = sign;
  // Python's repr switches to exponent form outside 1e-4 <= |x| < 1e16.
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    } else if (exp + 1 >= nd) {
      out += digits + std::string(static_cast<size_t>(exp + 1 - nd), '0') + ".0";
    } else {
      out += digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (nd > 1) out += "." + digits.substr(1);
  char ebuf[16];
  std::snprintf(ebuf, sizeof(ebuf), "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  return out + ebuf;
}

std::string repr_string(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : decode_utf8(s)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (!py_isprintable(c)) {
      if (c < 0x100) {
        out += "\\x";
        append_hex(out, c, 2);
      } else if (c < 0x10000) {
        out += "\\u";
        append_hex(out, c, 4);
      } else {
        out += "\\U";
        append_hex(out, c, 8);
      }
    } else {
      append_utf8(out, c);
    }
  }
  out.push_back(quote);
  return out;
}

std::string dump_json(const Value& v, const JsonOptions& opt) {
  std::string out;
  dump(out, v, opt, 0);
  return out;
}

}  // namespace cpplm::jinja
