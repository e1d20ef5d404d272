// Python str algorithms on UTF-8 text (code-point aware where Python's results depend on it).
#include "tokenizer/jinja/str_ops.h"

#include <algorithm>

#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/unicode.h"

namespace cpplm::jinja {

std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right) {
  const std::u32string cps = decode_utf8(s);
  const std::u32string set = chars ? decode_utf8(*chars) : std::u32string();
  auto strip_it = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : py_isspace(c); };
  size_t b = 0;
  size_t e = cps.size();
  if (left)
    while (b < e && strip_it(cps[b])) ++b;
  if (right)
    while (e > b && strip_it(cps[e - 1])) --e;
  return encode_utf8(std::u32string_view(cps).substr(b, e - b));
}

std::vector<std::string> py_split_whitespace(std::string_view s, int64_t maxsplit, bool from_right) {
  std::u32string cps = decode_utf8(s);
  if (from_right) std::reverse(cps.begin(), cps.end());
  std::vector<std::string> out;
  auto piece = [&](size_t b, size_t e) {
    std::u32string p = cps.substr(b, e - b);
    if (from_right) std::reverse(p.begin(), p.end());
    out.push_back(encode_utf8(p));
  };
  const size_t n = cps.size();
  size_t i = 0;
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    while (i < n && py_isspace(cps[i])) ++i;
    if (i == n) break;
    const size_t j = i;
    while (i < n && !py_isspace(cps[i])) ++i;
    piece(j, i);
  }
  while (i < n && py_isspace(cps[i])) ++i;
  if (i < n) piece(i, n);
  if (from_right) std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> py_split(std::string_view s, std::string_view sep, int64_t maxsplit, bool from_right) {
  std::vector<std::string> out;
  if (!from_right) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
      const size_t p = s.find(sep, start);
      if (p == std::string_view::npos) break;
      out.emplace_back(s.substr(start, p - start));
      start = p + sep.size();
    }
    out.emplace_back(s.substr(start));
    return out;
  }
  size_t end = s.size();
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    if (end < sep.size()) break;
    const size_t p = s.rfind(sep, end - sep.size());
    if (p == std::string_view::npos) break;
    out.emplace_back(s.substr(p + sep.size(), end - p - sep.size()));
    end = p;
  }
  out.emplace_back(s.substr(0, end));
  std::reverse(out.begin(), out.end());
  return out;
}

std::string py_replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count, const Evaluator& ev) {
  if (old.empty()) {
    const std::u32string cps = decode_utf8(s);
    const uint64_t slots = cps.size() + 1;
    const uint64_t n = count < 0 ? slots : std::min<uint64_t>(slots, static_cast<uint64_t>(count));
    ev.check_size(static_cast<size_t>(s.size() + n * repl.size()));
    std::string out;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (i < n) out += repl;
      if (i < cps.size()) append_utf8(out, cps[i]);
    }
    return out;
  }
  uint64_t hits = 0;
  for (size_t p = s.find(old); p != std::string_view::npos && (count < 0 || hits < static_cast<uint64_t>(count));
       p = s.find(old, p + old.size())) {
    ++hits;
  }
  if (repl.size() > old.size()) ev.check_size(static_cast<size_t>(s.size() + hits * (repl.size() - old.size())));
  std::string out;
  size_t start = 0;
  for (uint64_t h = 0; h < hits; ++h) {
    const size_t p = s.find(old, start);
    out.append(s.substr(start, p - start));
    out.append(repl);
    start = p + old.size();
  }
  out.append(s.substr(start));
  return out;
}

std::string py_format(std::string_view fmt, CallArgs& args, const Evaluator& ev) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      fail("Single '}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const size_t close = fmt.find('}', i);
    if (close == std::string_view::npos) fail("Single '{' encountered in format string");
    std::string_view field = fmt.substr(i + 1, close - i - 1);
    i = close;
    char conv = 0;
    if (const size_t colon = field.find(':'); colon != std::string_view::npos) {
      if (colon + 1 < field.size()) fail("format specs in str.format are not supported");
      field = field.substr(0, colon);
    }
    if (const size_t bang = field.find('!'); bang != std::string_view::npos) {
      if (bang + 2 != field.size()) fail("invalid conversion in format string");
      conv = field[bang + 1];
      field = field.substr(0, bang);
    }
    const Value* v = nullptr;
    if (field.empty() || std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; })) {
      const size_t idx = field.empty() ? auto_index++ : std::stoul(std::string(field.substr(0, 9)));
      if (idx >= args.args.size()) fail("Replacement index " + std::to_string(idx) + " out of range");
      v = &args.args[idx];
    } else {
      for (const auto& [k, val] : args.kwargs)
        if (k == field) v = &val;
      if (!v) fail("KeyError: '" + std::string(field) + "'");
    }
    out += (conv == 'r' || conv == 'a') ? v->repr() : v->to_str();
    ev.check_size(out.size());
  }
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace cpplm::jinja
