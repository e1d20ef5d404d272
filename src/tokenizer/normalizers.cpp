// Normalizers of tokenizer.json (HF tokenizers src/normalizers): NFC/NFD/NFKC/NFKD via utf8proc,
// Lowercase, Prepend, Replace, Strip, Sequence.
#include <utf8proc.h>

#include <cstdlib>

#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/components.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace cpplm::tok {

std::string component_type(const nlohmann::json& j, const std::string& where, const std::string& what) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    throw Error(where + ": " + what + " has no \"type\": " + j.dump().substr(0, 200));
  }
  return j["type"].get<std::string>();
}

PatternSpec pattern_spec(const nlohmann::json& j, const std::string& where, const std::string& what) {
  if (j.is_object() && j.contains("String") && j["String"].is_string()) return {false, j["String"].get<std::string>()};
  if (j.is_object() && j.contains("Regex") && j["Regex"].is_string()) return {true, j["Regex"].get<std::string>()};
  throw Error(where + ": " + what + ".pattern must be {\"String\": ...} or {\"Regex\": ...}, got " + j.dump());
}

namespace {

bool is_ascii(const std::string& s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(int options) : options_(options) {}
  void normalize(std::string& s) const override {
    if (is_ascii(s)) return;  // ASCII is invariant under all four forms
    utf8proc_uint8_t* out = nullptr;
    utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                      static_cast<utf8proc_ssize_t>(s.size()), &out, static_cast<utf8proc_option_t>(options_));
    if (n < 0) throw Error(std::string("unicode normalization failed: ") + utf8proc_errmsg(n));
    s.assign(reinterpret_cast<char*>(out), static_cast<size_t>(n));
    std::free(out);
  }

 private:
  int options_;
};

class Lowercase : public Normalizer {
 public:
  void normalize(std::string& s) const override {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
      char32_t cp;
      size_t len = utf8_decode(s, i, cp);
      utf8_encode_append(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
      i += len;
    }
    s = std::move(out);
  }
};

// HF normalizers/prepend.rs: only non-empty strings get the prefix.
class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string p) : prepend_(std::move(p)) {}
  void normalize(std::string& s) const override {
    if (!s.empty()) s.insert(0, prepend_);
  }

 private:
  std::string prepend_;
};

class Replace : public Normalizer {
 public:
  Replace(const PatternSpec& p, std::string content) : content_(std::move(content)) {
    if (p.is_regex) regex_ = std::make_unique<Regex>(p.text);
    else literal_ = p.text;
  }
  void normalize(std::string& s) const override {
    if (regex_) {
      std::vector<std::pair<size_t, size_t>> m;
      regex_->find_all(s, m);
      if (m.empty()) return;
      std::string out;
      size_t prev = 0;
      for (auto [b, e] : m) {
        out.append(s, prev, b - prev);
        out += content_;
        prev = e;
      }
      out.append(s, prev);
      s = std::move(out);
      return;
    }
    if (literal_.empty() || s.find(literal_) == std::string::npos) return;
    std::string out;
    size_t prev = 0, pos;
    while ((pos = s.find(literal_, prev)) != std::string::npos) {
      out.append(s, prev, pos - prev);
      out += content_;
      prev = pos + literal_.size();
    }
    out.append(s, prev);
    s = std::move(out);
  }

 private:
  std::string literal_, content_;
  std::unique_ptr<Regex> regex_;
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& s) const override {
    size_t b = 0, e = s.size();
    char32_t cp;
    while (left_ && b < e) {
      size_t len = utf8_decode(s, b, cp);
      if (!is_whitespace(cp)) break;
      b += len;
    }
    while (right_ && e > b) {
      size_t k = e - 1;
      while (k > b && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
      utf8_decode(s, k, cp);
      if (!is_whitespace(cp)) break;
      e = k;
    }
    s = s.substr(b, e - b);
  }

 private:
  bool left_, right_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  void normalize(std::string& s) const override {
    for (const auto& p : parts_) p->normalize(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const std::string& where) {
  if (j.is_null()) return nullptr;
  const std::string type = component_type(j, where, "normalizer");
  const std::string what = "normalizer " + type;
  constexpr int kStable = UTF8PROC_STABLE;
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(kStable | UTF8PROC_COMPOSE);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(kStable | UTF8PROC_DECOMPOSE);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(kStable | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(kStable | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Prepend") return std::make_unique<Prepend>(json_get<std::string>(j, "prepend", "", where, what));
  if (type == "Replace") {
    if (!j.contains("pattern")) throw Error(where + ": " + what + " has no pattern");
    return std::make_unique<Replace>(pattern_spec(j["pattern"], where, what),
                                     json_get<std::string>(j, "content", "", where, what));
  }
  if (type == "Strip") {
    return std::make_unique<Strip>(json_get<bool>(j, "strip_left", true, where, what),
                                   json_get<bool>(j, "strip_right", true, where, what));
  }
  if (type == "Sequence") {
    if (!j.contains("normalizers") || !j["normalizers"].is_array()) {
      throw Error(where + ": normalizer Sequence has no \"normalizers\" list");
    }
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (const auto& p : j["normalizers"]) {
      if (auto n = make_normalizer(p, where)) parts.push_back(std::move(n));
    }
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  throw Error(where + ": unsupported normalizer type '" + type + "'");
}

}  // namespace cpplm::tok
