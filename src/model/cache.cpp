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

KVRowFormat kv_row_format(KVType type, int head_dim) {
  KVRowFormat f;
  switch (type) {
    case KVType::F32: f.row_bytes = head_dim * sizeof(float); break;
    case KVType::BF16:
    case KVType::F16: f.row_bytes = head_dim * sizeof(uint16_t); break;
    case KVType::Q8:
      if (head_dim % 4 != 0)
        throw Error("an 8-bit KV cache needs head_dim divisible by 4 (head_dim is " + std::to_string(head_dim) + ")");
      f.group = kv_q8_group(head_dim);
      f.row_bytes = head_dim;
      break;
  }
  return f;
}

KVPoolStorage::KVPoolStorage(int layers, int kv_heads, int head_dim, KVType type, int blocks, int block_size)
    : pool_(blocks, block_size), kv_heads_(kv_heads), type_(type), fmt_(kv_row_format(type, head_dim)) {
  const size_t rows = static_cast<size_t>(blocks) * kv_heads * block_size;
  layers_.resize(layers);
  for (KVRows& l : layers_) {
    l.k = Buffer(rows * fmt_.row_bytes);
    l.v = Buffer(rows * fmt_.row_bytes);
    if (fmt_.group > 0)
      for (Buffer* b : {&l.k_scales, &l.k_biases, &l.v_scales, &l.v_biases}) *b = Buffer(rows * fmt_.sb_bytes());
  }
  pool_.copy = [this](int32_t from, int32_t to) { copy_block(from, to); };
}

size_t KVPoolStorage::block_bytes() const {
  return layers_.size() * static_cast<size_t>(pool_.block_size()) * fmt_.position_bytes(kv_heads_);
}

void KVPoolStorage::copy_block(int32_t from, int32_t to) {
  const size_t rows = static_cast<size_t>(kv_heads_) * pool_.block_size();
  for (KVRows& l : layers_) {
    for (Buffer* b : {&l.k, &l.v})
      std::memcpy(b->as<char>() + to * rows * fmt_.row_bytes, b->as<char>() + from * rows * fmt_.row_bytes, rows * fmt_.row_bytes);
    if (fmt_.group > 0)
      for (Buffer* b : {&l.k_scales, &l.k_biases, &l.v_scales, &l.v_biases})
        std::memcpy(b->as<char>() + to * rows * fmt_.sb_bytes(), b->as<char>() + from * rows * fmt_.sb_bytes(),
                    rows * fmt_.sb_bytes());
  }
}

KVCache::KVCache(int num_kv_heads, int head_dim, int max_size, int keep, KVType type)
    : kv_heads_(num_kv_heads), head_dim_(head_dim), max_size_(max_size), keep_(keep), type_(type),
      fmt_(kv_row_format(type, head_dim)), rows_(&own_) {
  CPPLM_CHECK(max_size == 0 || (keep >= 0 && keep < max_size), "RotatingKVCache needs 0 <= keep < max_size");
}

KVCache::KVCache(int num_kv_heads, int head_dim, int max_size, int keep, KVPoolStorage& storage, int layer,
                 BlockTable& table)
    : KVCache(num_kv_heads, head_dim, max_size, keep, storage.type()) {
  rows_ = &storage.layer(layer);
  table_ = &table;
  pool_rows_ = static_cast<int64_t>(table.pool().total_blocks()) * num_kv_heads * table.pool().block_size();
}

void KVCache::grow(int min_capacity) {
  if (table_) {
    const int b = table_->pool().block_size();
    table_->ensure((min_capacity + b - 1) / b);
    capacity_ = table_->size() * b;
    return;
  }
  int cap = std::max(min_capacity, capacity_ == 0 ? kStep : capacity_ * 2);
  cap = (cap + kStep - 1) / kStep * kStep;
  if (max_size_ > 0) cap = max_size_;
  regrow(own_.k, kv_heads_, capacity_, cap, fmt_.row_bytes);
  regrow(own_.v, kv_heads_, capacity_, cap, fmt_.row_bytes);
  for (Buffer* b : {&own_.k_scales, &own_.k_biases, &own_.v_scales, &own_.v_biases})
    regrow(*b, kv_heads_, capacity_, cap, fmt_.sb_bytes());
  capacity_ = cap;
}

void KVCache::store_row(const float* src, size_t row, Buffer& data, Buffer& scales, Buffer& biases) {
  char* dst = data.as<char>() + row * fmt_.row_bytes;
  switch (type_) {
    case KVType::F32: std::memcpy(dst, src, fmt_.row_bytes); break;
    case KVType::BF16:
      for (int e = 0; e < head_dim_; ++e) reinterpret_cast<uint16_t*>(dst)[e] = f32_to_bf16(src[e]);
      break;
    case KVType::F16:
      for (int e = 0; e < head_dim_; ++e) reinterpret_cast<uint16_t*>(dst)[e] = f32_to_f16(src[e]);
      break;
    case KVType::Q8: {
      const size_t groups = head_dim_ / fmt_.group;
      quantize_affine_row(src, head_dim_, 8, fmt_.group, DType::F32, reinterpret_cast<uint32_t*>(dst),
                          scales.as<float>() + row * groups, biases.as<float>() + row * groups);
      break;
    }
  }
}

void KVCache::append(const float* k, const float* v, int n) {
  // A paged ring takes blocks as its slots fill; an unpaged one allocates all of them at once.
  const int needed = max_size_ > 0 ? (table_ ? std::min(max_size_, offset_ + n) : max_size_) : offset_ + n;
  if (capacity_ < needed || table_) grow(needed);  // a paged table may have shrunk (trim_to)
  if (table_) {  // blocks shared with other sequences or kept by the prefix cache are copied first
    const int b = table_->pool().block_size();
    for (int i = 0, last = -1; i < n; ++i)
      if (const int blk = kv_slot(offset_ + i, max_size_, keep_) / b; blk != last) {
        table_->make_writable(blk);
        last = blk;
      }
  }
  // In a ring, later positions overwrite earlier ones: the most recent survive.
  KVRows& r = *rows_;
  for (int i = 0; i < n; ++i) {
    const int pos = offset_ + i;
    for (int h = 0; h < kv_heads_; ++h) {
      const size_t src = (static_cast<size_t>(i) * kv_heads_ + h) * head_dim_;
      store_row(k + src, row_index(h, pos), r.k, r.k_scales, r.k_biases);
      store_row(v + src, row_index(h, pos), r.v, r.v_scales, r.v_biases);
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
  c.k = rows_->k.data();
  c.v = rows_->v.data();
  c.k_scales = rows_->k_scales.as<float>();
  c.k_biases = rows_->k_biases.as<float>();
  c.v_scales = rows_->v_scales.as<float>();
  c.v_biases = rows_->v_biases.as<float>();
  c.group = fmt_.group;
  c.kv_heads = kv_heads_;
  c.head_dim = head_dim_;
  c.capacity = capacity_;
  c.max_size = max_size_;
  c.keep = keep_;
  c.offset = offset_;
  if (table_) {
    c.blocks = table_->ids().data();
    c.block_size = table_->pool().block_size();
    c.rows = pool_rows_;
  }
  return c;
}

size_t KVCache::nbytes() const {
  if (table_) return static_cast<size_t>(table_->size()) * table_->pool().block_size() * bytes_per_position();
  size_t n = 0;
  for (const Buffer* b : {&own_.k, &own_.v, &own_.k_scales, &own_.k_biases, &own_.v_scales, &own_.v_biases}) n += b->size();
  return n;
}

void KVCache::trim_to(int offset) {
  CPPLM_CHECK(kv_can_trim(offset_, offset, max_size_), "trim_to beyond what the cache can roll back to");
  offset_ = offset;
}

void KVCache::adopt(int offset) {
  CPPLM_CHECK(table_ && offset_ == 0 && max_size_ == 0, "adopt() needs an empty, unbounded, paged cache");
  CPPLM_CHECK(offset <= table_->size() * table_->pool().block_size(), "adopt() beyond the blocks held");
  offset_ = offset;
}

void SequenceCache::trim_to(int offset) {
  for (auto& l : layers) l->trim_to(offset);
  if (blocks) {  // a ring that can still roll back has not wrapped: its slots are its positions
    const int b = blocks->pool().block_size();
    blocks->resize_down((offset + b - 1) / b);
  }
}

size_t SequenceCache::nbytes() const {
  if (blocks) return static_cast<size_t>(blocks->size()) * blocks->pool().block_size() * bytes_per_position();
  size_t n = 0;
  for (const auto& l : layers) n += l->nbytes();
  return n;
}

size_t KVCache::bytes_per_position() const { return fmt_.position_bytes(kv_heads_); }

size_t SequenceCache::bytes_per_position() const {
  size_t n = 0;
  for (const auto& l : layers) n += l->bytes_per_position();
  return n;
}

}  // namespace cpplm
