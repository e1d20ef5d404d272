// Added-token matching (see added_tokens.h); find_matches mirrors HF added_vocabulary.rs.
#include "tokenizer/added_tokens.h"

#include <algorithm>
#include <cstring>

#include "tokenizer/components.h"
#include "tokenizer/unicode.h"

namespace cpplm::tok {

void AddedVocabulary::add(AddedToken token) {
  auto it = index_by_id_.find(token.id);
  if (it != index_by_id_.end()) {
    tokens_[it->second] = token;
  } else {
    index_by_id_[token.id] = tokens_.size();
    tokens_.push_back(token);
  }
  id_by_content_[token.content] = token.id;
}

void AddedVocabulary::build_matcher(Matcher& m, bool normalized, const Normalizer* normalizer) {
  m = Matcher{};
  m.patterns.resize(tokens_.size());
  for (size_t k = 0; k < tokens_.size(); ++k) {
    const AddedToken& t = tokens_[k];
    if (t.normalized != normalized || t.content.empty()) continue;
    std::string p = t.content;
    if (normalized && normalizer != nullptr) normalizer->normalize(p);
    if (p.empty()) continue;
    m.patterns[k] = p;
    m.buckets[static_cast<unsigned char>(p[0])].push_back(static_cast<int32_t>(k));
    m.any = true;
  }
  for (auto& b : m.buckets) {
    std::stable_sort(b.begin(), b.end(), [&](int32_t x, int32_t y) { return m.patterns[x].size() > m.patterns[y].size(); });
  }
}

void AddedVocabulary::build(const Normalizer* normalizer) {
  build_matcher(raw_, /*normalized=*/false, normalizer);
  build_matcher(normalized_, /*normalized=*/true, normalizer);
}

const AddedToken* AddedVocabulary::by_id(int32_t id) const {
  auto it = index_by_id_.find(id);
  return it == index_by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<int32_t> AddedVocabulary::by_content(std::string_view content) const {
  auto it = id_by_content_.find(std::string(content));
  if (it == id_by_content_.end()) return std::nullopt;
  return it->second;
}

int32_t AddedVocabulary::max_id() const {
  int32_t m = -1;
  for (const auto& t : tokens_) m = std::max(m, t.id);
  return m;
}

namespace {

char32_t last_char(std::string_view s) {
  size_t k = s.size() - 1;
  while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
  char32_t cp = 0;
  utf8_decode(s, k, cp);
  return cp;
}

char32_t first_char(std::string_view s) {
  char32_t cp = 0;
  utf8_decode(s, 0, cp);
  return cp;
}

// Start of the run of whitespace that ends s (regex \s*$).
size_t trailing_space_start(std::string_view s) {
  size_t e = s.size();
  while (e > 0) {
    size_t k = e - 1;
    while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
    char32_t cp = 0;
    utf8_decode(s, k, cp);
    if (!is_whitespace(cp)) break;
    e = k;
  }
  return e;
}

// Length of the run of whitespace that starts s (regex ^\s*).
size_t leading_space_len(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    size_t len = utf8_decode(s, i, cp);
    if (len == 0 || !is_whitespace(cp)) break;
    i += len;
  }
  return i;
}

}  // namespace

void AddedVocabulary::split(std::string_view s, bool normalized, std::vector<Piece>& out) const {
  const Matcher& m = normalized ? normalized_ : raw_;
  size_t start_offset = 0;
  size_t i = 0;
  while (m.any && i < s.size()) {
    const auto& bucket = m.buckets[static_cast<unsigned char>(s[i])];
    int32_t hit = -1;
    for (int32_t k : bucket) {
      const std::string& p = m.patterns[k];
      if (p.size() <= s.size() - i && std::memcmp(s.data() + i, p.data(), p.size()) == 0) {
        hit = k;
        break;
      }
    }
    if (hit < 0) {
      ++i;
      continue;
    }
    const AddedToken& t = tokens_[hit];
    size_t start = i, stop = i + m.patterns[hit].size();
    i = stop;  // matches never overlap
    if (start < start_offset) continue;
    if (t.single_word) {
      bool start_space = start == 0 || !is_word_char(last_char(s.substr(0, start)));
      bool stop_space = stop == s.size() || !is_word_char(first_char(s.substr(stop)));
      if (!start_space || !stop_space) continue;
    }
    if (t.lstrip) start = std::max(trailing_space_start(s.substr(0, start)), start_offset);
    if (t.rstrip) stop += leading_space_len(s.substr(stop));
    if (start_offset < start) out.push_back({start_offset, start, -1});
    out.push_back({start, stop, t.id});
    start_offset = stop;
  }
  if (start_offset < s.size()) out.push_back({start_offset, s.size(), -1});
}

}  // namespace cpplm::tok
