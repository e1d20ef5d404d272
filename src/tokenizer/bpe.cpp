// BPE model (see bpe.h). The merge loop follows HF tokenizers models/bpe/word.rs merge_all.
#include "tokenizer/bpe.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <queue>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace cpplm::tok {

namespace {

uint32_t hash_bytes(std::string_view s) {
  // FNV-1a over 8-byte words, then a final avalanche; good enough for vocab strings.
  uint64_t h = 0xcbf29ce484222325ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  for (; i < s.size(); ++i) h = (h ^ static_cast<unsigned char>(s[i])) * 0x100000001b3ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return static_cast<uint32_t>(h);
}

}  // namespace

void StringIdMap::reserve(size_t n, size_t bytes) {
  arena_.reserve(bytes);
  offsets_.reserve(n + 1);
  values_.reserve(n);
  size_t cap = 16;
  while (cap < n * 2) cap *= 2;
  if (cap > slots_.size()) rehash(cap);
}

void StringIdMap::rehash(size_t capacity) {
  slots_.assign(capacity, Slot{0, -1});
  const size_t mask = capacity - 1;
  for (size_t k = 0; k < values_.size(); ++k) {
    uint32_t h = hash_bytes(key(k));
    size_t p = h & mask;
    while (slots_[p].index >= 0) p = (p + 1) & mask;
    slots_[p] = {h, static_cast<int32_t>(k)};
  }
}

size_t StringIdMap::set(std::string_view k, int32_t id) {
  if ((values_.size() + 1) * 2 > slots_.size()) rehash(std::max<size_t>(16, slots_.size() * 2));
  const uint32_t h = hash_bytes(k);
  const size_t mask = slots_.size() - 1;
  size_t p = h & mask;
  while (slots_[p].index >= 0) {
    if (slots_[p].hash == h && key(slots_[p].index) == k) {
      values_[slots_[p].index] = id;
      return static_cast<size_t>(slots_[p].index);
    }
    p = (p + 1) & mask;
  }
  slots_[p] = {h, static_cast<int32_t>(values_.size())};
  arena_.append(k);
  offsets_.push_back(static_cast<uint32_t>(arena_.size()));
  values_.push_back(id);
  return values_.size() - 1;
}

std::optional<int32_t> StringIdMap::get(std::string_view k) const {
  if (slots_.empty()) return std::nullopt;
  const uint32_t h = hash_bytes(k);
  const size_t mask = slots_.size() - 1;
  for (size_t p = h & mask; slots_[p].index >= 0; p = (p + 1) & mask) {
    if (slots_[p].hash == h && key(slots_[p].index) == k) return values_[slots_[p].index];
  }
  return std::nullopt;
}

Bpe::Bpe(std::span<const std::pair<std::string_view, int64_t>> vocab,
         std::span<const std::pair<std::string_view, std::string_view>> merges, BpeOptions options, const std::string& where)
    : options_(std::move(options)) {
  int64_t max_id = -1;
  size_t bytes = 0;
  for (const auto& [tok, id] : vocab) {
    if (id < 0 || id > (int64_t{1} << 30)) {
      throw Error(where + ": model.vocab id " + std::to_string(id) + " of '" + std::string(tok) + "' is out of range");
    }
    max_id = std::max(max_id, id);
    bytes += tok.size();
  }
  vocab_.reserve(vocab.size(), bytes);
  token_key_.assign(static_cast<size_t>(max_id + 1), -1);
  for (const auto& [tok, id] : vocab) token_key_[id] = static_cast<int32_t>(vocab_.set(tok, static_cast<int32_t>(id)));

  struct Resolved {
    int32_t left, right, new_id;
  };
  std::vector<Resolved> resolved;
  resolved.reserve(merges.size());
  merge_begin_.assign(token_key_.size() + 1, 0);
  std::string joined;
  const std::string& prefix = options_.continuing_subword_prefix;
  for (const auto& [a, b] : merges) {
    auto ia = vocab_.get(a), ib = vocab_.get(b);
    if (!ia || !ib) {
      throw Error(where + ": merge '" + std::string(a) + " " + std::string(b) + "' uses a token missing from model.vocab");
    }
    joined.assign(a);
    if (!prefix.empty() && b.compare(0, prefix.size(), prefix) == 0) joined.append(b.substr(prefix.size()));
    else joined.append(b);
    auto inew = vocab_.get(joined);
    if (!inew) {
      throw Error(where + ": merge '" + std::string(a) + " " + std::string(b) + "' gives '" + joined +
                  "', missing from model.vocab");
    }
    resolved.push_back({*ia, *ib, *inew});
    ++merge_begin_[*ia + 1];
  }
  for (size_t k = 1; k < merge_begin_.size(); ++k) merge_begin_[k] += merge_begin_[k - 1];
  merges_.resize(resolved.size());
  std::vector<uint32_t> fill(merge_begin_.begin(), merge_begin_.end() - 1);
  for (size_t rank = 0; rank < resolved.size(); ++rank) {
    const Resolved& r = resolved[rank];
    merges_[fill[r.left]++] = {r.right, static_cast<int32_t>(rank), r.new_id};
  }
  // Sort each row by right token; a repeated pair keeps its last rank, as HF's HashMap does.
  size_t out = 0;
  for (size_t a = 0; a + 1 < merge_begin_.size(); ++a) {
    const size_t b = merge_begin_[a], e = merge_begin_[a + 1];
    std::sort(merges_.begin() + b, merges_.begin() + e,
              [](const MergeEntry& x, const MergeEntry& y) { return x.right != y.right ? x.right < y.right : x.rank < y.rank; });
    merge_begin_[a] = static_cast<uint32_t>(out);
    for (size_t k = b; k < e; ++k) {
      if (k + 1 < e && merges_[k + 1].right == merges_[k].right) continue;
      merges_[out++] = merges_[k];
    }
  }
  merge_begin_.back() = static_cast<uint32_t>(out);
  merges_.resize(out);

  if (options_.unk_token) {
    auto id = vocab_.get(*options_.unk_token);
    if (!id) throw Error(where + ": model.unk_token '" + *options_.unk_token + "' is not in model.vocab");
    unk_id_ = *id;
  }
  static constexpr std::string_view kMeta = "\xE2\x96\x81";
  split_on_meta_ =
      vocab_.get(kMeta).has_value() && options_.continuing_subword_prefix.empty() && options_.end_of_word_suffix.empty();
  for (size_t k = 0; k < vocab_.size() && split_on_meta_; ++k) {
    const std::string_view tok = vocab_.key(k);
    for (size_t p = tok.find(kMeta, 1); split_on_meta_ && p != std::string::npos; p = tok.find(kMeta, p + 1)) {
      if (p < kMeta.size() || tok.compare(p - kMeta.size(), kMeta.size(), kMeta) != 0) split_on_meta_ = false;
    }
  }
  char name[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    auto id = vocab_.get(name);
    byte_ids_[b] = id ? *id : -1;
  }
}

std::optional<std::string_view> Bpe::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= token_key_.size() || token_key_[id] < 0) return std::nullopt;
  return vocab_.key(token_key_[id]);
}

std::optional<std::pair<int32_t, int32_t>> Bpe::find_merge(int32_t a, int32_t b) const {
  const MergeEntry* lo = merges_.data() + merge_begin_[a];
  const MergeEntry* hi = merges_.data() + merge_begin_[a + 1];
  const MergeEntry* it = std::lower_bound(lo, hi, b, [](const MergeEntry& m, int32_t v) { return m.right < v; });
  if (it != hi && it->right == b) return std::make_pair(it->rank, it->new_id);
  return std::nullopt;
}

void Bpe::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (auto id = vocab_.get(word)) {
      out.push_back(*id);
      return;
    }
  }
  if (!split_on_meta_) {
    merge_cached(word, out);
    return;
  }
  static constexpr std::string_view kMeta = "\xE2\x96\x81";
  size_t start = 0;
  for (size_t p = word.find(kMeta, 1); p != std::string::npos; p = word.find(kMeta, p + 1)) {
    if (p >= kMeta.size() && word.compare(p - kMeta.size(), kMeta.size(), kMeta) == 0) continue;
    merge_cached(word.substr(start, p - start), out);
    start = p;
  }
  merge_cached(word.substr(start), out);
}

void Bpe::merge_cached(std::string_view word, std::vector<int32_t>& out) const {
  const bool cacheable = word.size() < kMaxCachedWord;
  if (cacheable) {
    std::shared_lock lock(cache_mutex_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  size_t start = out.size();
  merge_word(word, out);
  if (cacheable) {
    std::unique_lock lock(cache_mutex_);
    if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(word), std::vector<int32_t>(out.begin() + start, out.end()));
  }
}

namespace {

struct Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
  bool removed;
};

struct MergeCandidate {
  int32_t rank;
  int32_t pos;
  int32_t new_id;
  // std::priority_queue pops the "largest": make that the lowest rank, then the lowest position.
  bool operator<(const MergeCandidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

}  // namespace

void Bpe::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&](int32_t id) {
    int32_t n = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, n - 1, n + 1, false});
  };
  // Initial symbols: one per character, or its bytes, or (fused) unk.
  int32_t pending_unk = -1;
  std::string piece;
  size_t i = 0;
  while (i < word.size()) {
    size_t len = utf8_len_at(word, i);
    if (i + len > word.size()) len = word.size() - i;
    std::string_view ch = word.substr(i, len);
    const bool first = i == 0, last = i + len == word.size();
    i += len;
    std::optional<int32_t> id;
    if ((first || options_.continuing_subword_prefix.empty()) && (!last || options_.end_of_word_suffix.empty())) {
      id = vocab_.get(ch);
    } else {
      piece.assign(first ? "" : options_.continuing_subword_prefix);
      piece.append(ch);
      if (last) piece += options_.end_of_word_suffix;
      id = vocab_.get(piece);
    }
    if (id) {
      if (pending_unk >= 0) {
        add(pending_unk);
        pending_unk = -1;
      }
      add(*id);
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (char c : ch) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all) {
        if (pending_unk >= 0) {
          add(pending_unk);
          pending_unk = -1;
        }
        for (char c : ch) add(byte_ids_[static_cast<unsigned char>(c)]);
        continue;
      }
    }
    if (unk_id_ >= 0) {
      if (pending_unk >= 0 && !options_.fuse_unk) add(pending_unk);
      pending_unk = unk_id_;
    }
    // Without an unk token an unknown character is dropped, as HF does.
  }
  if (pending_unk >= 0) add(pending_unk);
  if (symbols.empty()) return;
  symbols.back().next = -1;

  std::vector<MergeCandidate> heap_storage;
  heap_storage.reserve(symbols.size());
  std::priority_queue<MergeCandidate> queue(std::less<MergeCandidate>(), std::move(heap_storage));
  for (size_t k = 0; k + 1 < symbols.size(); ++k) {
    if (auto m = find_merge(symbols[k].id, symbols[k + 1].id)) queue.push({m->first, static_cast<int32_t>(k), m->second});
  }
  while (!queue.empty()) {
    MergeCandidate top = queue.top();
    queue.pop();
    Symbol& cur = symbols[top.pos];
    if (cur.removed || cur.next < 0) continue;
    Symbol& right = symbols[cur.next];
    auto m = find_merge(cur.id, right.id);
    if (!m || m->second != top.new_id) continue;  // stale entry
    cur.id = top.new_id;
    right.removed = true;
    cur.next = right.next;
    if (cur.next >= 0) symbols[cur.next].prev = top.pos;
    if (cur.prev >= 0) {
      if (auto pm = find_merge(symbols[cur.prev].id, cur.id)) queue.push({pm->first, cur.prev, pm->second});
    }
    if (cur.next >= 0) {
      if (auto nm = find_merge(cur.id, symbols[cur.next].id)) queue.push({nm->first, top.pos, nm->second});
    }
  }
  for (int32_t k = 0; k >= 0; k = symbols[k].next) out.push_back(symbols[k].id);
}

}  // namespace cpplm::tok
