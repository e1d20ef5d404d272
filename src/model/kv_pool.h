// A paged K/V pool's bookkeeping, device-neutral: fixed-size blocks of `block_size` positions, each
// holding those positions' keys and values in every layer of a sequence; reference counts; and the
// prefix cache, which keeps full blocks under the hash of every token up to their end so that later
// sequences whose prompts start the same way share them (vLLM's automatic prefix caching). Blocks
// that only the prefix cache keeps are evicted least recently used first when a block is needed.
// A device's storage (model/cache.h on the CPU) gives every block id its rows.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace cpplm {

// A sequence needed a block and the pool had none free (the server preempts before this happens).
class KVPoolExhausted : public Error {
 public:
  KVPoolExhausted() : Error("the K/V pool has no free block") {}
};

class KVPool {
 public:
  KVPool(int blocks, int block_size);
  int block_size() const { return block_size_; }
  int total_blocks() const { return static_cast<int>(refs_.size()); }
  // Blocks allocate() can hand out: never used, freed, or cached with no holder (evictable).
  int free_blocks() const { return static_cast<int>(free_.size() + lru_.size()); }
  int held_blocks() const { return total_blocks() - free_blocks(); }  // held by sequences
  int cached_blocks() const { return static_cast<int>(by_name_.size()); }
  int evictable_blocks() const { return static_cast<int>(lru_.size()); }  // cached, held by no sequence
  int refs(int32_t id) const { return refs_.at(id); }
  // A block may be written in place: one holder and not in the prefix cache (copy-on-write else).
  bool writable(int32_t id) const { return refs_.at(id) == 1 && !entries_.at(id).cached; }

  // A block for one holder; evicts the least recently used unheld cached block when none is free.
  // -1 when every block is held.
  int32_t allocate();
  void retain(int32_t id);
  // Drops a holder: an uncached block with none left is free again, a cached one evictable.
  void release(int32_t id);

  // The prefix cache. A full block is named by the chain of every token up to its end:
  // name(parent, tokens) with the previous block's name as parent (0 before the first).
  static uint64_t name(uint64_t parent, std::span<const int32_t> tokens);
  // Keeps block `id` (full, holding `tokens` after the block named `parent`) under its name; when
  // another block has that name already, the cache keeps that one.
  void publish(uint64_t parent, std::span<const int32_t> tokens, int32_t id);
  // The cached block holding `tokens` after `parent`; -1 when none. lookup() also retains it for the caller.
  int32_t find(uint64_t parent, std::span<const int32_t> tokens) const;
  int32_t lookup(uint64_t parent, std::span<const int32_t> tokens);
  // Drops every unheld block from the prefix cache.
  void drop_cached();

  // Set by the device's storage: copies block `from`'s rows to block `to` in every layer.
  std::function<void(int32_t from, int32_t to)> copy;

  // Throws Error unless every block is exactly one of free, held or evictable and the prefix
  // cache's index matches its blocks (tests).
  void check() const;

 private:
  struct Entry {
    bool cached = false;
    uint64_t name = 0, parent = 0;
    std::vector<int32_t> tokens;
    uint64_t tick = 0;  // its key in lru_ while evictable
  };
  void uncache(int32_t id);

  int block_size_;
  std::vector<int> refs_;
  std::vector<Entry> entries_;
  std::vector<int32_t> free_;                       // uncached, unheld
  std::map<uint64_t, int32_t> lru_;                 // cached, unheld: oldest release first
  std::unordered_map<uint64_t, int32_t> by_name_;  // cached blocks by name
  uint64_t tick_ = 0;
};

// The blocks one sequence holds, in position order: block i holds slots [i·B, (i+1)·B) of every
// layer. Releases them when destroyed.
class BlockTable {
 public:
  explicit BlockTable(KVPool& pool) : pool_(pool) {}
  ~BlockTable() { resize_down(0); }
  BlockTable(const BlockTable&) = delete;
  BlockTable& operator=(const BlockTable&) = delete;

  KVPool& pool() const { return pool_; }
  const std::vector<int32_t>& ids() const { return ids_; }
  int size() const { return static_cast<int>(ids_.size()); }
  // Holds at least `blocks` blocks; throws KVPoolExhausted when the pool runs out (keeping what it got).
  void ensure(int blocks);
  void resize_down(int blocks);  // releases the blocks beyond the first `blocks`
  // An empty table takes blocks the caller holds (KVPool::lookup's references).
  void adopt(std::span<const int32_t> ids);
  // Block i may be written: copies it to a new block first when it is shared or cached.
  void make_writable(int i);
  // Changes whenever ids() does (a device copy of the table is stale when its version differs).
  uint64_t version() const { return version_; }

 private:
  KVPool& pool_;
  std::vector<int32_t> ids_;
  uint64_t version_ = 0;
};

}  // namespace cpplm
