// KV cache storage: growth for unbounded caches, ring slots for bounded ones, rows stored as
// f32, bf16, f16 or 8-bit affine codes.
#include "model/cache.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "ops/quantize.h"

namespace cpplm {

namespace {
constexpr int kStep = 256;  // growth granularity in positions (mlx-lm uses 256 too)

// Copies `rows` rows per head of `row_bytes` from a [heads, old_cap] buffer into a new [heads, cap] one.
void regrow(Buffer& b, int heads, int old_cap, int cap, size_t row_bytes) {
  if (row_bytes == 0) return;
  Buffer nb(static_cast<size_t>(heads) * cap * row_bytes);
  if (old_cap > 0)
    for (int h = 0; h < heads; ++h)
      std::memcpy(nb.as<char>() + h * cap * row_bytes, b.as<char>() + h * old_cap * row_bytes, old_cap * row_bytes);
  b = std::move(nb);
}

}  // namespace

KVCache::KVCache(int num_kv_heads, int head_dim, int max_size, int keep, KVType type)
    : kv_heads_(num_kv_heads), head_dim_(head_dim), max_size_(max_size), keep_(keep), type_(type) {
  CPPLM_CHECK(max_size == 0 || (keep >= 0 && keep < max_size), "RotatingKVCache needs 0 <= keep < max_size");
  switch (type) {
    case KVType::F32: row_bytes_ = head_dim * sizeof(float); break;
    case KVType::BF16:
    case KVType::F16: row_bytes_ = head_dim * sizeof(uint16_t); break;
    case KVType::Q8:
      if (head_dim % 4 != 0)
        throw Error("an 8-bit KV cache needs head_dim divisible by 4 (head_dim is " + std::to_string(head_dim) + ")");
      group_ = kv_q8_group(head_dim);
      row_bytes_ = head_dim;
      break;
  }
}

void KVCache::grow(int min_capacity) {
  int cap = std::max(min_capacity, capacity_ == 0 ? kStep : capacity_ * 2);
  cap = (cap + kStep - 1) / kStep * kStep;
  if (max_size_ > 0) cap = max_size_;
  regrow(k_, kv_heads_, capacity_, cap, row_bytes_);
  regrow(v_, kv_heads_, capacity_, cap, row_bytes_);
  const size_t sb_row = group_ > 0 ? (head_dim_ / group_) * sizeof(float) : 0;
  for (Buffer* b : {&k_scales_, &k_biases_, &v_scales_, &v_biases_}) regrow(*b, kv_heads_, capacity_, cap, sb_row);
  capacity_ = cap;
}

void KVCache::store_row(const float* src, size_t row, Buffer& data, Buffer& scales, Buffer& biases) {
  char* dst = data.as<char>() + row * row_bytes_;
  switch (type_) {
    case KVType::F32: std::memcpy(dst, src, row_bytes_); break;
    case KVType::BF16:
      for (int e = 0; e < head_dim_; ++e) reinterpret_cast<uint16_t*>(dst)[e] = f32_to_bf16(src[e]);
      break;
    case KVType::F16:
      for (int e = 0; e < head_dim_; ++e) reinterpret_cast<uint16_t*>(dst)[e] = f32_to_f16(src[e]);
      break;
    case KVType::Q8: {
      const size_t groups = head_dim_ / group_;
      quantize_affine_row(src, head_dim_, 8, group_, DType::F32, reinterpret_cast<uint32_t*>(dst),
                          scales.as<float>() + row * groups, biases.as<float>() + row * groups);
      break;
    }
  }
}

void KVCache::append(const float* k, const float* v, int n) {
  const int needed = max_size_ > 0 ? max_size_ : offset_ + n;
  if (capacity_ < needed) grow(needed);
  // In a ring, later positions overwrite earlier ones: the most recent survive.
  for (int i = 0; i < n; ++i) {
    const int pos = offset_ + i;
    for (int h = 0; h < kv_heads_; ++h) {
      const size_t src = (static_cast<size_t>(i) * kv_heads_ + h) * head_dim_;
      store_row(k + src, row_index(h, pos), k_, k_scales_, k_biases_);
      store_row(v + src, row_index(h, pos), v_, v_scales_, v_biases_);
    }
  }
  offset_ += n;
}

void KVCache::key(int head, int pos, float* out) const {
  CPPLM_CHECK(retained(pos), "key(): position not retained");
  kv_load_row(view(), /*value=*/false, row_index(head, pos), out);
}

void KVCache::value(int head, int pos, float* out) const {
  CPPLM_CHECK(retained(pos), "value(): position not retained");
  kv_load_row(view(), /*value=*/true, row_index(head, pos), out);
}

KVView KVCache::view() const {
  KVView c;
  c.type = type_;
  c.k = k_.data();
  c.v = v_.data();
  c.k_scales = k_scales_.as<float>();
  c.k_biases = k_biases_.as<float>();
  c.v_scales = v_scales_.as<float>();
  c.v_biases = v_biases_.as<float>();
  c.group = group_;
  c.kv_heads = kv_heads_;
  c.head_dim = head_dim_;
  c.capacity = capacity_;
  c.max_size = max_size_;
  c.keep = keep_;
  c.offset = offset_;
  return c;
}

size_t KVCache::nbytes() const {
  size_t n = 0;
  for (const Buffer* b : {&k_, &v_, &k_scales_, &k_biases_, &v_scales_, &v_biases_}) n += b->size();
  return n;
}

void KVCache::trim_to(int offset) {
  CPPLM_CHECK(kv_can_trim(offset_, offset, max_size_), "trim_to beyond what the cache can roll back to");
  offset_ = offset;
}

size_t SequenceCache::nbytes() const {
  size_t n = 0;
  for (const auto& l : layers) n += l->nbytes();
  return n;
}

size_t KVCache::bytes_per_position() const {
  const size_t scales = type_ == KVType::Q8 ? 2 * sizeof(float) * (head_dim_ / group_) : 0;
  return 2 * static_cast<size_t>(kv_heads_) * (row_bytes_ + scales);
}

size_t SequenceCache::bytes_per_position() const {
  size_t n = 0;
  for (const auto& l : layers) n += l->bytes_per_position();
  return n;
}

}  // namespace cpplm
