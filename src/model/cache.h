// KV caches (mlx-lm cache.py KVCache, RotatingKVCache): one per layer per sequence.
#pragma once
#include <memory>
#include <vector>

#include "core/kv_index.h"
#include "core/tensor.h"
#include "model/kv_pool.h"
#include "model/layer_plan.h"
#include "ops/attention.h"

namespace cpplm {

// Elements per scale/bias pair of an 8-bit cache row (KVType::Q8), on every device.
inline int kv_q8_group(int head_dim) { return head_dim % 64 == 0 ? 64 : head_dim % 32 == 0 ? 32 : head_dim; }

// K and V rows of head_dim elements of one storage type (f32, bf16, f16, or 8-bit affine codes
// with an f32 scale and bias per group of 64, 32 or head_dim elements in separate arrays).
struct KVRows {
  Buffer k, v, k_scales, k_biases, v_scales, v_biases;
};
struct KVRowFormat {
  size_t row_bytes = 0;  // one row of k or v
  int group = 0;         // Q8: elements per scale/bias pair
  // One row's scales (or biases): an 8-bit row has row_bytes = head_dim codes.
  size_t sb_bytes() const { return group > 0 ? (row_bytes / group) * sizeof(float) : 0; }
  size_t position_bytes(int kv_heads) const { return 2 * static_cast<size_t>(kv_heads) * (row_bytes + 2 * sb_bytes()); }
};
// Throws Error for an 8-bit cache of head_dim not divisible by 4.
KVRowFormat kv_row_format(KVType type, int head_dim);

// The CPU storage of a paged K/V pool (model/kv_pool.h): per layer, rows [blocks, kv_heads,
// block_size] of one type; block b's rows start at b·kv_heads·block_size. Copy-on-write copies a
// block in every layer (KVPool::copy).
class KVPoolStorage {
 public:
  KVPoolStorage(int layers, int kv_heads, int head_dim, KVType type, int blocks, int block_size);
  KVPoolStorage(const KVPoolStorage&) = delete;
  KVPoolStorage& operator=(const KVPoolStorage&) = delete;
  KVPool& pool() { return pool_; }
  KVType type() const { return type_; }
  KVRows& layer(int i) { return layers_.at(i); }
  size_t block_bytes() const;  // one block in every layer

 private:
  void copy_block(int32_t from, int32_t to);
  KVPool pool_;
  int kv_heads_;
  KVType type_;
  KVRowFormat fmt_;
  std::vector<KVRows> layers_;
};

// Keys/values of one layer of one sequence. Positions are absolute token indices.
// Storage: rows [num_kv_heads, capacity, head_dim] of `type` for K and V (KVRows), or a paged
// pool's blocks through the sequence's BlockTable.
// A bounded cache keeps the first `keep` positions plus the most recent `window - keep`
// (a ring buffer); an unbounded one keeps everything and grows in steps (or blocks).
class KVCache {
 public:
  KVCache(int num_kv_heads, int head_dim, KVType type = KVType::F32)
      : KVCache(num_kv_heads, head_dim, /*max_size=*/0, /*keep=*/0, type) {}
  // Paged: layer `layer` of `storage`, through `table` (shared by the sequence's layers).
  KVCache(int num_kv_heads, int head_dim, int max_size, int keep, KVPoolStorage& storage, int layer, BlockTable& table);
  KVCache(const KVCache&) = delete;
  KVCache& operator=(const KVCache&) = delete;
  virtual ~KVCache() = default;

  int offset() const { return offset_; }  // tokens seen so far
  int num_kv_heads() const { return kv_heads_; }
  int head_dim() const { return head_dim_; }
  KVType type() const { return type_; }
  bool bounded() const { return max_size_ > 0; }
  int max_size() const { return max_size_; }
  int keep() const { return keep_; }

  // Appends `n` tokens: k, v are [n, num_kv_heads, head_dim] f32 (rounded or quantized to the storage type).
  void append(const float* k, const float* v, int n);
  // Rolls back to `offset` tokens (kv_can_trim must allow it); for speculative or reused prompts.
  void trim_to(int offset);
  // Paged, empty and unbounded: the table's first `offset` positions were filled by another
  // sequence (shared prefix blocks) and are now this cache's.
  void adopt(int offset);

  bool retained(int pos) const { return kv_retained(pos, offset_, max_size_, keep_); }
  // The stored key / value row of (head, pos) as f32 (dequantized), head_dim values into out.
  void key(int head, int pos, float* out) const;
  void value(int head, int pos, float* out) const;
  size_t nbytes() const;
  // Bytes one cached position takes (K and V rows of every kv head, with Q8 scales and biases).
  size_t bytes_per_position() const;
  KVView view() const;

 protected:
  KVCache(int num_kv_heads, int head_dim, int max_size, int keep, KVType type);

 private:
  size_t row_index(int head, int pos) const {  // row of (head, pos) in the storage
    const int s = kv_slot(pos, max_size_, keep_);
    if (!table_) return static_cast<size_t>(head) * capacity_ + s;
    const int b = table_->pool().block_size();
    return (static_cast<size_t>(table_->ids()[s / b]) * kv_heads_ + head) * b + s % b;
  }
  void grow(int min_capacity);
  void store_row(const float* src, size_t row, Buffer& data, Buffer& scales, Buffer& biases);

  int kv_heads_, head_dim_, max_size_, keep_;
  KVType type_;
  KVRowFormat fmt_;
  int offset_ = 0;
  int capacity_ = 0;  // slots the storage holds now
  KVRows own_;        // unpaged storage: [kv_heads, capacity] rows
  KVRows* rows_;      // &own_, or the pool's layer
  BlockTable* table_ = nullptr;
  int64_t pool_rows_ = 0;
};

// A cache bounded to `max_size` positions, keeping the first `keep` (mlx-lm RotatingKVCache):
// sliding-window attention layers use max_size = sliding_window, keep = 0.
class RotatingKVCache : public KVCache {
 public:
  RotatingKVCache(int num_kv_heads, int head_dim, int max_size, int keep = 0, KVType type = KVType::F32)
      : KVCache(num_kv_heads, head_dim, max_size, keep, type) {}
};

// All layers' caches of one sequence (mlx-lm make_prompt_cache result), made from its plan.
// Paged caches share `blocks` (declared first: the layers point into it).
struct SequenceCache {
  SequencePlan plan;
  std::unique_ptr<BlockTable> blocks;
  std::vector<std::unique_ptr<KVCache>> layers;
  bool can_trim_to(int offset) const { return plan.can_trim(this->offset(), offset); }
  void trim_to(int offset);  // every layer; a paged cache then releases the blocks past `offset`
  int offset() const { return layers.empty() ? 0 : layers[0]->offset(); }
  size_t nbytes() const;
  size_t bytes_per_position() const;
};

}  // namespace cpplm
