// KV cache storage: growth for unbounded caches, ring slots for bounded ones.
#include "model/cache.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace cpplm {

namespace {
constexpr int kStep = 256;  // growth granularity in positions (mlx-lm uses 256 too)
}

KVCache::KVCache(int num_kv_heads, int head_dim, int max_size, int keep)
    : kv_heads_(num_kv_heads), head_dim_(head_dim), max_size_(max_size), keep_(keep) {
  CPPLM_CHECK(max_size == 0 || (keep >= 0 && keep < max_size), "RotatingKVCache needs 0 <= keep < max_size");
}

void KVCache::grow(int min_capacity) {
  int cap = std::max(min_capacity, capacity_ == 0 ? kStep : capacity_ * 2);
  cap = (cap + kStep - 1) / kStep * kStep;
  if (max_size_ > 0) cap = max_size_;
  const size_t row = static_cast<size_t>(head_dim_) * sizeof(float);
  for (Buffer* b : {&k_, &v_}) {
    Buffer nb(static_cast<size_t>(kv_heads_) * cap * row);
    if (capacity_ > 0)
      for (int h = 0; h < kv_heads_; ++h)
        std::memcpy(nb.as<char>() + h * cap * row, b->as<char>() + h * capacity_ * row, capacity_ * row);
    *b = std::move(nb);
  }
  capacity_ = cap;
}

void KVCache::append(const float* k, const float* v, int n) {
  const int needed = max_size_ > 0 ? max_size_ : offset_ + n;
  if (capacity_ < needed) grow(needed);
  // In a ring, later positions overwrite earlier ones: the most recent survive.
  for (int i = 0; i < n; ++i) {
    const int pos = offset_ + i;
    for (int h = 0; h < kv_heads_; ++h) {
      const float* src_k = k + (static_cast<size_t>(i) * kv_heads_ + h) * head_dim_;
      const float* src_v = v + (static_cast<size_t>(i) * kv_heads_ + h) * head_dim_;
      std::memcpy(k_.as<float>() + slot_index(h, pos), src_k, head_dim_ * sizeof(float));
      std::memcpy(v_.as<float>() + slot_index(h, pos), src_v, head_dim_ * sizeof(float));
    }
  }
  offset_ += n;
}

bool KVCache::retained(int pos) const {
  if (pos < 0 || pos >= offset_) return false;
  if (max_size_ == 0 || pos < keep_) return true;
  return pos >= offset_ - (max_size_ - keep_);
}

void KVCache::trim_to(int offset) {
  CPPLM_CHECK(offset >= 0 && offset <= offset_, "trim_to past the end");
  CPPLM_CHECK(max_size_ == 0 || offset >= offset_ - (max_size_ - keep_) || offset <= keep_,
              "cannot trim a rotating cache below what it retains");
  offset_ = offset;
}

size_t SequenceCache::nbytes() const {
  size_t n = 0;
  for (const auto& l : layers) n += l->nbytes();
  return n;
}

}  // namespace cpplm
