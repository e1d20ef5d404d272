// Pre-tokenizers of tokenizer.json (HF tokenizers src/pre_tokenizers): Split, ByteLevel,
// Metaspace, Digits, Whitespace, WhitespaceSplit, Sequence.
#include <algorithm>
#include <functional>

#include "core/error.h"
#include "tokenizer/components.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace cpplm::tok {

namespace {

using Ranges = std::vector<std::pair<size_t, size_t>>;

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Behavior parse_behavior(const std::string& s, const std::string& where) {
  if (s == "Removed") return Behavior::kRemoved;
  if (s == "Isolated") return Behavior::kIsolated;
  if (s == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return Behavior::kMergedWithNext;
  if (s == "Contiguous") return Behavior::kContiguous;
  throw Error(where + ": unknown Split behavior '" + s + "'");
}

struct Part {
  size_t b, e;
  bool is_match;
};

// HF NormalizedString::split: `matches` are the pattern hits; gaps between them are parts too.
void split_by(const std::string& s, const Ranges& matches, Behavior behavior, bool invert, std::vector<std::string>& out) {
  if (s.empty()) return;
  if (out.capacity() < out.size() + matches.size() * 2 + 1) out.reserve((out.size() + matches.size() * 2 + 1) * 3 / 2);
  if (behavior == Behavior::kIsolated) {  // every part is kept: no need to build the part list
    size_t prev = 0;
    for (auto [b, e] : matches) {
      if (prev != b) out.emplace_back(s, prev, b - prev);
      out.emplace_back(s, b, e - b);
      prev = e;
    }
    if (prev != s.size()) out.emplace_back(s, prev, s.size() - prev);
    return;
  }
  std::vector<Part> parts;
  parts.reserve(matches.size() * 2 + 1);
  size_t prev = 0;
  for (auto [b, e] : matches) {
    if (prev != b) parts.push_back({prev, b, invert});
    parts.push_back({b, e, !invert});
    prev = e;
  }
  if (prev != s.size()) parts.push_back({prev, s.size(), invert});

  std::vector<Part> merged;
  merged.reserve(parts.size());
  bool previous_match = false;
  switch (behavior) {
    case Behavior::kRemoved:
      for (const Part& p : parts) {
        if (!p.is_match) merged.push_back(p);
      }
      break;
    case Behavior::kIsolated: merged = std::move(parts); break;
    case Behavior::kMergedWithPrevious:
      for (const Part& p : parts) {
        if (p.is_match && !previous_match && !merged.empty()) merged.back().e = p.e;
        else merged.push_back(p);
        previous_match = p.is_match;
      }
      break;
    case Behavior::kMergedWithNext:
      for (size_t k = parts.size(); k-- > 0;) {
        const Part& p = parts[k];
        if (p.is_match && !previous_match && !merged.empty()) merged.back().b = p.b;
        else merged.push_back(p);
        previous_match = p.is_match;
      }
      std::reverse(merged.begin(), merged.end());
      break;
    case Behavior::kContiguous:
      for (const Part& p : parts) {
        if (p.is_match == previous_match && !merged.empty()) merged.back().e = p.e;
        else merged.push_back(p);
        previous_match = p.is_match;
      }
      break;
  }
  for (const Part& p : merged) {
    if (p.e > p.b) out.emplace_back(s, p.b, p.e - p.b);
  }
}

// One match per character satisfying pred (HF Pattern for Fn(char) -> bool).
void char_matches(const std::string& s, const std::function<bool(char32_t)>& pred, Ranges& out) {
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp;
    size_t len = utf8_decode(s, i, cp);
    if (pred(cp)) out.emplace_back(i, i + len);
    i += len;
  }
}

class Split : public PreTokenizer {
 public:
  Split(const PatternSpec& p, Behavior behavior, bool invert) : behavior_(behavior), invert_(invert) {
    if (p.is_regex) regex_ = std::make_unique<Regex>(p.text);
    else literal_ = p.text;
  }
  void pre_tokenize(std::vector<std::string>& pieces, bool) const override {
    std::vector<std::string> out;
    Ranges m;
    for (const std::string& s : pieces) {
      m.clear();
      m.reserve(s.size() / 4);
      if (regex_) {
        regex_->find_all(s, m);
      } else if (!literal_.empty()) {
        for (size_t pos = s.find(literal_); pos != std::string::npos; pos = s.find(literal_, pos + literal_.size())) {
          m.emplace_back(pos, pos + literal_.size());
        }
      }
      split_by(s, m, behavior_, invert_, out);
    }
    pieces.swap(out);
  }

 private:
  std::unique_ptr<Regex> regex_;
  std::string literal_;
  Behavior behavior_;
  bool invert_;
};

class CharSplit : public PreTokenizer {
 public:
  CharSplit(std::function<bool(char32_t)> pred, Behavior behavior) : pred_(std::move(pred)), behavior_(behavior) {}
  void pre_tokenize(std::vector<std::string>& pieces, bool) const override {
    std::vector<std::string> out;
    Ranges m;
    for (const std::string& s : pieces) {
      m.clear();
      char_matches(s, pred_, m);
      split_by(s, m, behavior_, /*invert=*/false, out);
    }
    pieces.swap(out);
  }

 private:
  std::function<bool(char32_t)> pred_;
  Behavior behavior_;
};

// GPT-2 regex of HF pre_tokenizers/byte_level.rs.
constexpr const char* kGpt2Regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex) : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_ = std::make_unique<Regex>(kGpt2Regex);
  }
  void pre_tokenize(std::vector<std::string>& pieces, bool) const override {
    std::vector<std::string> out;
    out.reserve(pieces.size());
    Ranges m;
    for (std::string& s : pieces) {
      if (add_prefix_space_ && (s.empty() || s[0] != ' ')) s.insert(s.begin(), ' ');
      if (regex_) {
        m.clear();
        regex_->find_all(s, m);
        split_by(s, m, Behavior::kIsolated, /*invert=*/false, out);
      } else if (!s.empty()) {
        out.push_back(std::move(s));
      }
    }
    const auto& table = byte_to_unicode();
    std::string mapped;
    for (std::string& s : out) {
      mapped.clear();
      for (char c : s) mapped += table[static_cast<unsigned char>(c)];
      s.assign(mapped);
    }
    pieces.swap(out);
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

// HF pre_tokenizers/metaspace.rs: spaces become the replacement, which is prepended unless
// the piece already starts with it.
class Metaspace : public PreTokenizer {
 public:
  enum class Prepend { kAlways, kFirst, kNever };
  Metaspace(std::string replacement, Prepend prepend, bool split)
      : replacement_(std::move(replacement)), prepend_(prepend), split_(split) {}
  void pre_tokenize(std::vector<std::string>& pieces, bool first_at_start) const override {
    std::vector<std::string> out;
    Ranges m;
    for (size_t i = 0; i < pieces.size(); ++i) {
      std::string s;
      s.reserve(pieces[i].size() + 8);
      for (char c : pieces[i]) {
        if (c == ' ') s += replacement_;
        else s.push_back(c);
      }
      bool prepend = prepend_ == Prepend::kAlways || (prepend_ == Prepend::kFirst && i == 0 && first_at_start);
      if (prepend && s.compare(0, replacement_.size(), replacement_) != 0) s.insert(0, replacement_);
      if (split_) {
        m.clear();
        for (size_t pos = s.find(replacement_); pos != std::string::npos; pos = s.find(replacement_, pos + replacement_.size())) {
          m.emplace_back(pos, pos + replacement_.size());
        }
        split_by(s, m, Behavior::kMergedWithNext, /*invert=*/false, out);
      } else if (!s.empty()) {
        out.push_back(std::move(s));
      }
    }
    pieces.swap(out);
  }

 private:
  std::string replacement_;
  Prepend prepend_;
  bool split_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void pre_tokenize(std::vector<std::string>& pieces, bool first_at_start) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces, first_at_start);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_metaspace(const std::string& replacement, const std::string& prepend_scheme) {
  Metaspace::Prepend p = prepend_scheme == "always"  ? Metaspace::Prepend::kAlways
                         : prepend_scheme == "first" ? Metaspace::Prepend::kFirst
                                                     : Metaspace::Prepend::kNever;
  return std::make_unique<Metaspace>(replacement, p, /*split=*/false);
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j, const std::string& where) {
  if (j.is_null()) return nullptr;
  const std::string type = component_type(j, where, "pre_tokenizer");
  const std::string what = "pre_tokenizer " + type;
  if (type == "Split") {
    if (!j.contains("pattern")) throw Error(where + ": " + what + " has no pattern");
    return std::make_unique<Split>(pattern_spec(j["pattern"], where, what),
                                   parse_behavior(json_get<std::string>(j, "behavior", "Isolated", where, what), where),
                                   json_get<bool>(j, "invert", false, where, what));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevel>(json_get<bool>(j, "add_prefix_space", true, where, what),
                                       json_get<bool>(j, "use_regex", true, where, what));
  }
  if (type == "Metaspace") {
    std::string replacement = json_get<std::string>(j, "replacement", "\xE2\x96\x81", where, what);
    Metaspace::Prepend prepend =
        json_get<bool>(j, "add_prefix_space", true, where, what) ? Metaspace::Prepend::kAlways : Metaspace::Prepend::kNever;
    if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
      std::string scheme = json_get<std::string>(j, "prepend_scheme", "always", where, what);
      if (scheme == "always") prepend = Metaspace::Prepend::kAlways;
      else if (scheme == "first") prepend = Metaspace::Prepend::kFirst;
      else if (scheme == "never") prepend = Metaspace::Prepend::kNever;
      else throw Error(where + ": " + what + " has unknown prepend_scheme '" + scheme + "'");
    }
    return std::make_unique<Metaspace>(replacement, prepend, json_get<bool>(j, "split", true, where, what));
  }
  if (type == "Digits") {
    bool individual = json_get<bool>(j, "individual_digits", false, where, what);
    return std::make_unique<CharSplit>(is_numeric, individual ? Behavior::kIsolated : Behavior::kContiguous);
  }
  if (type == "WhitespaceSplit") return std::make_unique<CharSplit>(is_whitespace, Behavior::kRemoved);
  if (type == "Whitespace") {
    return std::make_unique<Split>(PatternSpec{true, R"(\w+|[^\w\s]+)"}, Behavior::kRemoved, /*invert=*/true);
  }
  if (type == "Sequence") {
    if (!j.contains("pretokenizers") || !j["pretokenizers"].is_array()) {
      throw Error(where + ": pre_tokenizer Sequence has no \"pretokenizers\" list");
    }
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (const auto& p : j["pretokenizers"]) {
      if (auto n = make_pre_tokenizer(p, where)) parts.push_back(std::move(n));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  throw Error(where + ": unsupported pre_tokenizer type '" + type + "'");
}

}  // namespace cpplm::tok
