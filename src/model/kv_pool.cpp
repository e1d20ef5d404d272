// KVPool: reference counts, the free list, the prefix cache's index and its LRU order.
#include "model/kv_pool.h"

#include <algorithm>
#include <string>

namespace cpplm {

KVPool::KVPool(int blocks, int block_size)
    : block_size_(block_size), refs_(std::max(0, blocks), 0), entries_(refs_.size()) {
  CPPLM_CHECK(block_size > 0, "a K/V block holds at least one position");
  free_.reserve(refs_.size());
  for (int32_t i = static_cast<int32_t>(refs_.size()) - 1; i >= 0; --i) free_.push_back(i);  // hands out 0, 1, … first
}

void KVPool::uncache(int32_t id) {
  Entry& e = entries_[id];
  by_name_.erase(e.name);
  e = Entry{};
}

int32_t KVPool::allocate() {
  int32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else if (!lru_.empty()) {
    id = lru_.begin()->second;
    lru_.erase(lru_.begin());
    uncache(id);
  } else {
    return -1;
  }
  refs_[id] = 1;
  return id;
}

void KVPool::retain(int32_t id) {
  Entry& e = entries_.at(id);
  if (refs_[id] == 0) {
    CPPLM_CHECK(e.cached, "retain of a free K/V block");
    lru_.erase(e.tick);
  }
  ++refs_[id];
}

void KVPool::release(int32_t id) {
  CPPLM_CHECK(refs_.at(id) > 0, "release of a K/V block nobody holds");
  if (--refs_[id] > 0) return;
  Entry& e = entries_[id];
  if (e.cached) {
    e.tick = ++tick_;
    lru_.emplace(e.tick, id);
  } else {
    free_.push_back(id);
  }
}

// FNV-1a over the parent's name and the tokens, finished with splitmix64's mixer.
uint64_t KVPool::name(uint64_t parent, std::span<const int32_t> tokens) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i, v >>= 8) h = (h ^ (v & 0xff)) * 1099511628211ull;
  };
  mix(parent);
  for (int32_t t : tokens) mix(static_cast<uint32_t>(t));
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h == 0 ? 1 : h;  // 0 names "no parent"
}

void KVPool::publish(uint64_t parent, std::span<const int32_t> tokens, int32_t id) {
  CPPLM_CHECK(refs_.at(id) > 0, "publish of a K/V block nobody holds");
  CPPLM_CHECK(static_cast<int>(tokens.size()) == block_size_, "only full K/V blocks are cached");
  const uint64_t n = name(parent, tokens);
  Entry& e = entries_[id];
  if (e.cached || by_name_.count(n)) return;
  e.cached = true;
  e.name = n;
  e.parent = parent;
  e.tokens.assign(tokens.begin(), tokens.end());
  by_name_.emplace(n, id);
}

int32_t KVPool::find(uint64_t parent, std::span<const int32_t> tokens) const {
  auto it = by_name_.find(name(parent, tokens));
  if (it == by_name_.end()) return -1;
  const Entry& e = entries_[it->second];
  if (e.parent != parent || !std::equal(tokens.begin(), tokens.end(), e.tokens.begin(), e.tokens.end())) return -1;
  return it->second;
}

int32_t KVPool::lookup(uint64_t parent, std::span<const int32_t> tokens) {
  const int32_t id = find(parent, tokens);
  if (id >= 0) retain(id);
  return id;
}

void KVPool::drop_cached() {
  for (const auto& [tick, id] : lru_) {
    uncache(id);
    free_.push_back(id);
  }
  lru_.clear();
}

void KVPool::check() const {
  std::vector<int> seen(refs_.size(), 0);
  for (int32_t id : free_) {
    CPPLM_CHECK(refs_[id] == 0 && !entries_[id].cached, "K/V pool: a free block is held or cached");
    ++seen[id];
  }
  for (const auto& [tick, id] : lru_) {
    CPPLM_CHECK(refs_[id] == 0 && entries_[id].cached && entries_[id].tick == tick, "K/V pool: bad evictable block");
    ++seen[id];
  }
  for (size_t id = 0; id < refs_.size(); ++id) {
    CPPLM_CHECK(refs_[id] >= 0, "K/V pool: negative reference count");
    if (refs_[id] > 0) ++seen[id];
    CPPLM_CHECK(seen[id] == 1, "K/V pool: block " + std::to_string(id) + " is in " + std::to_string(seen[id]) + " states");
    const Entry& e = entries_[id];
    if (e.cached) {
      auto it = by_name_.find(e.name);
      CPPLM_CHECK(it != by_name_.end() && it->second == static_cast<int32_t>(id), "K/V pool: cache index out of date");
    }
  }
  for (const auto& [n, id] : by_name_) CPPLM_CHECK(entries_[id].cached && entries_[id].name == n, "K/V pool: stale name");
}

void BlockTable::ensure(int blocks) {
  while (size() < blocks) {
    const int32_t id = pool_.allocate();
    if (id < 0) throw KVPoolExhausted();
    ids_.push_back(id);
    ++version_;
  }
}

void BlockTable::resize_down(int blocks) {
  while (size() > std::max(0, blocks)) {  // the last block first: it is evicted first
    pool_.release(ids_.back());
    ids_.pop_back();
    ++version_;
  }
}

void BlockTable::adopt(std::span<const int32_t> ids) {
  CPPLM_CHECK(ids_.empty(), "adopt() into a table that holds blocks");
  ids_.assign(ids.begin(), ids.end());
  ++version_;
}

void BlockTable::make_writable(int i) {
  const int32_t old = ids_.at(i);
  if (pool_.writable(old)) return;
  const int32_t id = pool_.allocate();
  if (id < 0) throw KVPoolExhausted();
  if (pool_.copy) pool_.copy(old, id);
  ids_[i] = id;
  ++version_;
  pool_.release(old);
}

}  // namespace cpplm
