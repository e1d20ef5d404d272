// BPE model of tokenizer.json (HF tokenizers src/models/bpe): priority-queue merges, byte
// fallback, unk fusing, ignore_merges, and a cache of recent words.
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cpplm::tok {

// Open-addressing map from strings to ids, built once (the vocab has 100k+ entries). Keys are
// stored back to back in one arena.
class StringIdMap {
 public:
  void reserve(size_t n, size_t bytes);
  // Inserts or overwrites; returns the key's index.
  size_t set(std::string_view key, int32_t id);
  std::optional<int32_t> get(std::string_view key) const;
  std::string_view key(size_t index) const {
    return std::string_view(arena_).substr(offsets_[index], offsets_[index + 1] - offsets_[index]);
  }
  size_t size() const { return values_.size(); }

 private:
  void rehash(size_t capacity);
  struct Slot {
    uint32_t hash;
    int32_t index;  // into values_ / offsets_, -1 when empty
  };
  std::vector<Slot> slots_;
  std::string arena_;
  std::vector<uint32_t> offsets_{0};  // key k is arena_[offsets_[k], offsets_[k + 1])
  std::vector<int32_t> values_;
};

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

class Bpe {
 public:
  // vocab: token → id; merges: pairs in priority order. Throws cpplm::Error naming `where`
  // when a merge or the unk token is not in the vocab.
  Bpe(std::span<const std::pair<std::string_view, int64_t>> vocab,
      std::span<const std::pair<std::string_view, std::string_view>> merges, BpeOptions options, const std::string& where);

  // Appends the ids of one pre-tokenized word (valid UTF-8).
  void tokenize(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const { return vocab_.get(token); }
  // nullopt when the id is not in the vocab.
  std::optional<std::string_view> id_to_token(int32_t id) const;
  int32_t max_id() const { return static_cast<int32_t>(token_key_.size()) - 1; }
  bool byte_fallback() const { return options_.byte_fallback; }

 private:
  void merge_cached(std::string_view word, std::vector<int32_t>& out) const;
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;
  std::optional<std::pair<int32_t, int32_t>> find_merge(int32_t a, int32_t b) const;  // (rank, new id)

  StringIdMap vocab_;
  std::vector<int32_t> token_key_;  // by id: index of its string in vocab_, -1 for holes
  // Merge table in compressed-row form: the merges whose left token is a are
  // merges_[merge_begin_[a], merge_begin_[a + 1]), sorted by right token.
  struct MergeEntry {
    int32_t right;
    int32_t rank;
    int32_t new_id;
  };
  std::vector<uint32_t> merge_begin_;
  std::vector<MergeEntry> merges_;
  BpeOptions options_;
  int32_t unk_id_ = -1;
  int32_t byte_ids_[256];
  // SentencePiece-style vocab where no token has "▁" after another character: a word can be cut
  // before each such "▁" without changing the result (no merge can cross the cut).
  bool split_on_meta_ = false;

  static constexpr size_t kCacheCapacity = 1 << 16;
  static constexpr size_t kMaxCachedWord = 256;
  mutable std::shared_mutex cache_mutex_;
  struct CacheHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  mutable std::unordered_map<std::string, std::vector<int32_t>, CacheHash, std::equal_to<>> cache_;
};

}  // namespace cpplm::tok
