// KV caches (mlx-lm cache.py KVCache, RotatingKVCache): one per layer per sequence.
#pragma once
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "ops/attention.h"

namespace cpplm {

// Keys/values of one layer of one sequence. Positions are absolute token indices.
// Storage: [num_kv_heads, capacity, head_dim] f32 for K and V.
// A bounded cache keeps the first `keep` positions plus the most recent `window - keep`
// (a ring buffer); an unbounded one keeps everything and grows in steps.
class KVCache {
 public:
  KVCache(int num_kv_heads, int head_dim) : KVCache(num_kv_heads, head_dim, /*max_size=*/0, /*keep=*/0) {}
  virtual ~KVCache() = default;

  int offset() const { return offset_; }            // tokens seen so far
  int num_kv_heads() const { return kv_heads_; }
  int head_dim() const { return head_dim_; }
  bool bounded() const { return max_size_ > 0; }
  int max_size() const { return max_size_; }
  int keep() const { return keep_; }
  // Positions p with p < keep or p > query_pos - window() are visible (window 0 = all).
  int window() const { return max_size_ > 0 ? max_size_ - keep_ : 0; }

  // Appends `n` tokens: k, v are [n, num_kv_heads, head_dim] f32.
  void append(const float* k, const float* v, int n);
  // Rolls back to `offset` tokens (only within what is retained); for speculative or reused prompts.
  void trim_to(int offset);

  bool retained(int pos) const;
  const float* key(int head, int pos) const { return k_.as<float>() + slot_index(head, pos); }
  const float* value(int head, int pos) const { return v_.as<float>() + slot_index(head, pos); }
  size_t nbytes() const { return k_.size() + v_.size(); }
  KVView view() const { return {k_.as<float>(), v_.as<float>(), capacity_, max_size_, keep_, offset_}; }

 protected:
  KVCache(int num_kv_heads, int head_dim, int max_size, int keep);

 private:
  size_t slot_index(int head, int pos) const {
    int slot = (max_size_ == 0 || pos < keep_) ? pos : keep_ + (pos - keep_) % (max_size_ - keep_);
    return (static_cast<size_t>(head) * capacity_ + slot) * head_dim_;
  }
  void grow(int min_capacity);

  int kv_heads_, head_dim_, max_size_, keep_;
  int offset_ = 0;
  int capacity_ = 0;
  Buffer k_, v_;
};

// A cache bounded to `max_size` positions, keeping the first `keep` (mlx-lm RotatingKVCache):
// sliding-window attention layers use max_size = sliding_window, keep = 0.
class RotatingKVCache : public KVCache {
 public:
  RotatingKVCache(int num_kv_heads, int head_dim, int max_size, int keep = 0)
      : KVCache(num_kv_heads, head_dim, max_size, keep) {}
};

// All layers' caches of one sequence (mlx-lm make_prompt_cache result).
struct SequenceCache {
  std::vector<std::unique_ptr<KVCache>> layers;
  int offset() const { return layers.empty() ? 0 : layers[0]->offset(); }
  size_t nbytes() const;
};

}  // namespace cpplm
