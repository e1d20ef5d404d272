// KV caches (mlx-lm cache.py KVCache, RotatingKVCache): one per layer per sequence.
#pragma once
#include <memory>
#include <vector>

#include "core/kv_index.h"
#include "core/tensor.h"
#include "model/layer_plan.h"
#include "ops/attention.h"

namespace cpplm {

// Elements per scale/bias pair of an 8-bit cache row (KVType::Q8), on every device.
inline int kv_q8_group(int head_dim) { return head_dim % 64 == 0 ? 64 : head_dim % 32 == 0 ? 32 : head_dim; }

// Keys/values of one layer of one sequence. Positions are absolute token indices.
// Storage: rows [num_kv_heads, capacity, head_dim] of `type` for K and V (f32, bf16, f16, or
// 8-bit affine codes with an f32 scale and bias per group of 64, 32 or head_dim elements).
// A bounded cache keeps the first `keep` positions plus the most recent `window - keep`
// (a ring buffer); an unbounded one keeps everything and grows in steps.
class KVCache {
 public:
  KVCache(int num_kv_heads, int head_dim, KVType type = KVType::F32)
      : KVCache(num_kv_heads, head_dim, /*max_size=*/0, /*keep=*/0, type) {}
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
  size_t row_index(int head, int pos) const {  // row of (head, pos) in [kv_heads, capacity]
    return static_cast<size_t>(head) * capacity_ + kv_slot(pos, max_size_, keep_);
  }
  void grow(int min_capacity);
  void store_row(const float* src, size_t row, Buffer& data, Buffer& scales, Buffer& biases);

  int kv_heads_, head_dim_, max_size_, keep_;
  KVType type_;
  int group_ = 0;         // Q8: elements per scale/bias pair
  size_t row_bytes_ = 0;  // bytes of one stored row in k_/v_
  int offset_ = 0;
  int capacity_ = 0;
  Buffer k_, v_;
  Buffer k_scales_, k_biases_, v_scales_, v_biases_;  // Q8: [kv_heads, capacity, head_dim / group_] f32
};

// A cache bounded to `max_size` positions, keeping the first `keep` (mlx-lm RotatingKVCache):
// sliding-window attention layers use max_size = sliding_window, keep = 0.
class RotatingKVCache : public KVCache {
 public:
  RotatingKVCache(int num_kv_heads, int head_dim, int max_size, int keep = 0, KVType type = KVType::F32)
      : KVCache(num_kv_heads, head_dim, max_size, keep, type) {}
};

// All layers' caches of one sequence (mlx-lm make_prompt_cache result), made from its plan.
struct SequenceCache {
  SequencePlan plan;
  std::vector<std::unique_ptr<KVCache>> layers;
  bool can_trim_to(int offset) const { return plan.can_trim(this->offset(), offset); }
  int offset() const { return layers.empty() ? 0 : layers[0]->offset(); }
  size_t nbytes() const;
  size_t bytes_per_position() const;
};

}  // namespace cpplm
