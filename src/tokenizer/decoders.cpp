// Decoders of tokenizer.json (HF tokenizers src/decoders): ByteLevel, Replace, ByteFallback,
// Fuse, Strip, Metaspace, Sequence.
#include "core/error.h"
#include "tokenizer/components.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace cpplm::tok {

namespace {

// Maps each character back to its byte; a token with an unmapped character keeps its own
// UTF-8 bytes (HF decoders ByteLevel). Invalid UTF-8 becomes U+FFFD.
class ByteLevelDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      size_t start = bytes.size();
      bool ok = true;
      size_t i = 0;
      while (i < t.size()) {
        char32_t cp;
        size_t len = utf8_decode(t, i, cp);
        int b = len ? unicode_to_byte(cp) : -1;
        if (b < 0) {
          ok = false;
          break;
        }
        bytes.push_back(static_cast<char>(b));
        i += len;
      }
      if (!ok) {
        bytes.resize(start);
        bytes += t;
      }
    }
    tokens.assign(1, utf8_valid(bytes) ? std::move(bytes) : utf8_lossy(bytes));
  }
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(const PatternSpec& p, std::string content) : content_(std::move(content)) {
    if (p.is_regex) regex_ = std::make_unique<Regex>(p.text);
    else literal_ = p.text;
  }
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      std::vector<std::pair<size_t, size_t>> m;
      if (regex_) {
        regex_->find_all(t, m);
      } else if (!literal_.empty()) {
        for (size_t pos = t.find(literal_); pos != std::string::npos; pos = t.find(literal_, pos + literal_.size())) {
          m.emplace_back(pos, pos + literal_.size());
        }
      }
      if (m.empty()) continue;
      std::string out;
      size_t prev = 0;
      for (auto [b, e] : m) {
        out.append(t, prev, b - prev);
        out += content_;
        prev = e;
      }
      out.append(t, prev);
      t = std::move(out);
    }
  }

 private:
  std::string literal_, content_;
  std::unique_ptr<Regex> regex_;
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Runs of <0xNN> tokens become their bytes when those form valid UTF-8, else one U+FFFD
// per byte (HF decoders/byte_fallback.rs).
class ByteFallbackDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string pending;
    auto flush = [&] {
      if (pending.empty()) return;
      if (utf8_valid(pending)) {
        out.push_back(pending);
      } else {
        for (size_t k = 0; k < pending.size(); ++k) out.emplace_back("\xEF\xBF\xBD");
      }
      pending.clear();
    };
    for (std::string& t : tokens) {
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && hex_value(t[3]) >= 0 && hex_value(t[4]) >= 0) {
        pending.push_back(static_cast<char>(hex_value(t[3]) * 16 + hex_value(t[4])));
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens.swap(out);
  }
};

class FuseDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

// Removes up to `start` leading and `stop` trailing copies of one character from every token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop) : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    if (content_.empty()) return;
    for (std::string& t : tokens) {
      size_t b = 0, e = t.size();
      for (size_t k = 0; k < start_ && t.compare(b, content_.size(), content_) == 0 && b < e; ++k) b += content_.size();
      for (size_t k = 0; k < stop_ && e >= b + content_.size() && t.compare(e - content_.size(), content_.size(), content_) == 0;
           ++k) {
        e -= content_.size();
      }
      t = t.substr(b, e - b);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

// HF decoders Metaspace: the replacement becomes a space, except in the first token when a
// prefix was prepended at encode time, where it is dropped.
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool drop_first) : replacement_(std::move(replacement)), drop_first_(drop_first) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      std::string out;
      size_t prev = 0, pos;
      while ((pos = t.find(replacement_, prev)) != std::string::npos) {
        out.append(t, prev, pos - prev);
        if (!(i == 0 && drop_first_)) out.push_back(' ');
        prev = pos + replacement_.size();
      }
      out.append(t, prev);
      t = std::move(out);
    }
  }

 private:
  std::string replacement_;
  bool drop_first_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts) : parts_(std::move(parts)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& p : parts_) p->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

}  // namespace

std::unique_ptr<Decoder> make_sentencepiece_decoder(bool strip_leading_space) {
  std::vector<std::unique_ptr<Decoder>> parts;
  parts.push_back(std::make_unique<ReplaceDecoder>(PatternSpec{false, "\xE2\x96\x81"}, " "));
  parts.push_back(std::make_unique<ByteFallbackDecoder>());
  parts.push_back(std::make_unique<FuseDecoder>());
  if (strip_leading_space) parts.push_back(std::make_unique<StripDecoder>(" ", 1, 0));
  return std::make_unique<SequenceDecoder>(std::move(parts));
}

std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j, const std::string& where) {
  if (j.is_null()) return nullptr;
  const std::string type = component_type(j, where, "decoder");
  const std::string what = "decoder " + type;
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Replace") {
    if (!j.contains("pattern")) throw Error(where + ": " + what + " has no pattern");
    return std::make_unique<ReplaceDecoder>(pattern_spec(j["pattern"], where, what),
                                            json_get<std::string>(j, "content", "", where, what));
  }
  if (type == "Strip") {
    std::string content = json_get<std::string>(j, "content", " ", where, what);
    int64_t start = json_get<int64_t>(j, "start", 0, where, what), stop = json_get<int64_t>(j, "stop", 0, where, what);
    if (start < 0 || stop < 0) throw Error(where + ": " + what + " has a negative start/stop");
    return std::make_unique<StripDecoder>(content, static_cast<size_t>(start), static_cast<size_t>(stop));
  }
  if (type == "Metaspace") {
    bool drop = json_get<bool>(j, "add_prefix_space", true, where, what);
    if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
      drop = json_get<std::string>(j, "prepend_scheme", "always", where, what) != "never";
    }
    return std::make_unique<MetaspaceDecoder>(json_get<std::string>(j, "replacement", "\xE2\x96\x81", where, what), drop);
  }
  if (type == "Sequence") {
    if (!j.contains("decoders") || !j["decoders"].is_array()) {
      throw Error(where + ": decoder Sequence has no \"decoders\" list");
    }
    std::vector<std::unique_ptr<Decoder>> parts;
    for (const auto& p : j["decoders"]) {
      if (auto d = make_decoder(p, where)) parts.push_back(std::move(d));
    }
    return std::make_unique<SequenceDecoder>(std::move(parts));
  }
  throw Error(where + ": unsupported decoder type '" + type + "'");
}

}  // namespace cpplm::tok
