// CudaSequence: the device K/V caches of a sequence, grown (and copied) as it lengthens.
#include "runtime/cuda/cuda_sequence.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "model/cache.h"

namespace cpplm::cuda {

DType kv_device_dtype(KVType t) {
  switch (t) {
    case KVType::F32: return DType::F32;
    case KVType::BF16: return DType::BF16;
    case KVType::F16: return DType::F16;
    case KVType::Q8: return DType::U8;
  }
  throw Error("unknown K/V cache type");
}

namespace {
// Points l at the next `rows` K rows then V rows of codes at p (cb bytes a row) and, for an 8-bit
// cache, of (scale, bias) pairs at q (sb bytes a row); advances both.
void place_rows(KvLayer& l, char*& p, char*& q, size_t rows, size_t cb, size_t sb) {
  l.k = p;
  l.v = p + rows * cb;
  p += 2 * rows * cb;
  if (sb) {
    l.ksb = reinterpret_cast<float2*>(q);
    l.vsb = reinterpret_cast<float2*>(q + rows * sb);
    q += 2 * rows * sb;
  }
}

void check_q8_head_dim(int head_dim) {
  if (head_dim % 8 != 0)
    throw Error("an 8-bit K/V cache on the CUDA device needs head_dim divisible by 8 (head_dim is " + std::to_string(head_dim) + ")");
}
}  // namespace

size_t CudaKVPool::block_bytes(size_t layers, int kv_heads, int head_dim, KVType type, int block_size) {
  const DType t = kv_device_dtype(type);
  const size_t code = static_cast<size_t>(head_dim) * dtype_size(t);
  const size_t sb = t == DType::U8 ? static_cast<size_t>(head_dim / kv_q8_group(head_dim)) * sizeof(float2) : 0;
  return layers * 2 * static_cast<size_t>(kv_heads) * block_size * (code + sb);
}

CudaKVPool::CudaKVPool(const CudaContext& ctx, size_t layers, int kv_heads, int head_dim, KVType type, int blocks,
                       int block_size)
    : pool_(blocks, block_size), type_(type) {
  const DType t = kv_device_dtype(type);
  if (t == DType::U8) check_q8_head_dim(head_dim);
  const int group = t == DType::U8 ? kv_q8_group(head_dim) : 0;
  code_bytes_ = static_cast<size_t>(head_dim) * dtype_size(t);
  sb_bytes_ = group ? static_cast<size_t>(head_dim / group) * sizeof(float2) : 0;
  const size_t rows = static_cast<size_t>(blocks) * kv_heads * block_size;  // per layer, of K or of V
  buf_ = DeviceBuffer(layers * 2 * rows * (code_bytes_ + sb_bytes_));
  char* p = buf_.as<char>();
  char* q = p + layers * 2 * rows * code_bytes_;  // the (scale, bias) pairs follow every layer's codes
  layers_.resize(layers);
  for (KvLayer& l : layers_) {
    place_rows(l, p, q, rows, code_bytes_, sb_bytes_);
    l.group = group;
    l.block_size = block_size;
    l.kv_heads = kv_heads;
  }
  const size_t block_rows = static_cast<size_t>(kv_heads) * block_size;
  pool_.copy = [this, &ctx, block_rows](int32_t from, int32_t to) {
    for (const KvLayer& l : layers_)
      for (int which = 0; which < 4; ++which) {
        void* base = which == 0 ? l.k : which == 1 ? l.v : which == 2 ? static_cast<void*>(l.ksb) : static_cast<void*>(l.vsb);
        const size_t bytes = block_rows * (which < 2 ? code_bytes_ : sb_bytes_);
        if (!base || bytes == 0) continue;
        copy_rows_async(ctx, static_cast<char*>(base) + to * bytes, bytes, static_cast<char*>(base) + from * bytes, bytes, bytes, 1);
      }
  };
}

CudaSequence::CudaSequence(SequencePlan plan, int kv_heads, int head_dim, CudaKVPool* pool)
    : plan_(std::move(plan)), kvh_(kv_heads), d_(head_dim), kv_t_(kv_device_dtype(plan_.kv_type)), pool_(pool) {
  if (kv_t_ == DType::U8) {
    check_q8_head_dim(head_dim);
    group_ = kv_q8_group(head_dim);
  }
  if (!pool_) return;
  CPPLM_CHECK(pool_->type() == plan_.kv_type, "a K/V pool of another storage type");
  table_ = std::make_unique<BlockTable>(pool_->pool());
  d_table_ = DeviceBuffer(static_cast<size_t>(std::max(1, pool_->pool().total_blocks())) * sizeof(int32_t));
  layers_.resize(plan_.layers.size());
  for (size_t i = 0; i < layers_.size(); ++i) {
    KvLayer& l = layers_[i];
    l = pool_->layer(i);
    l.max_size = plan_.layers[i].max_size;
    l.keep = plan_.layers[i].keep;
    l.capacity = l.max_size;  // unbounded layers: set by ensure_paged
    l.blocks = d_table_.as<int32_t>();
    const std::pair<int, int> ring{l.max_size, l.keep};
    if (std::find(rings_.begin(), rings_.end(), ring) == rings_.end()) rings_.push_back(ring);
  }
}

int CudaSequence::slots_for(int positions) const {
  int slots = 0;
  for (const LayerPlan& l : plan_.layers) slots = std::max(slots, l.max_size > 0 ? std::min(l.max_size, positions) : positions);
  return slots;
}

void CudaSequence::reserve(int positions) {
  reserve_ = positions;
  if (!table_) return;
  const int b = table_->pool().block_size();
  table_->ensure((slots_for(positions) + b - 1) / b);
}

bool CudaSequence::shares_blocks() const {
  if (!table_) return false;
  for (const LayerPlan& l : plan_.layers)
    if (l.max_size > 0) return false;
  return true;
}

void CudaSequence::adopt_blocks(std::span<const int32_t> ids) {
  CPPLM_CHECK(shares_blocks() && offset_ == 0, "adopt_blocks() needs an empty paged sequence without rings");
  table_->adopt(ids);
  offset_ = static_cast<int>(ids.size()) * table_->pool().block_size();
}

void CudaSequence::trim_to(int offset) {
  CPPLM_CHECK(can_trim_to(offset), "trim_to beyond what the cache can roll back to");
  offset_ = offset;
  if (!table_) return;
  const int b = table_->pool().block_size();  // a ring that can roll back has not wrapped
  table_->resize_down((offset + b - 1) / b);
}

size_t CudaSequence::nbytes() const {
  if (table_) return static_cast<size_t>(table_->size()) * table_->pool().block_size() * bytes_per_position();
  return kv_.size();
}

// Blocks for the slots of positions [0, need), copies of the shared or cached blocks that positions
// [offset_, need) write into, and the table on the device when it changed.
void CudaSequence::ensure_paged(const CudaContext& ctx, int need) {
  const int b = table_->pool().block_size();
  table_->ensure((slots_for(need) + b - 1) / b);
  for (const auto& [max_size, keep] : rings_)  // the blocks the new positions land in
    for (int p = offset_; p < need; ++p) {
      const int blk = kv_slot(p, max_size, keep) / b;
      if (p > offset_ && blk == kv_slot(p - 1, max_size, keep) / b) continue;
      table_->make_writable(blk);
    }
  if (table_->version() != uploaded_) {
    copy_to_device_async(ctx, d_table_.data(), table_->ids().data(), table_->ids().size() * sizeof(int32_t));
    uploaded_ = table_->version();
  }
  // Unbounded layers' capacity only sizes decode plans: it grows as an unpaged one would.
  int cap = cap_;
  if (need > cap) cap = need <= reserve_ ? reserve_ : (std::max(need, 2 * cap_) + 255) / 256 * 256;
  if (cap != cap_) {
    cap_ = cap;
    for (KvLayer& l : layers_)
      if (l.max_size == 0) l.capacity = cap_;
    ++generation_;
  }
}

SequenceState::LayerStorage CudaSequence::layer_storage(int layer) const {
  // What the device holds: the allocated layer once there is one, else what ensure() will allocate.
  const KVType t = plan_.kv_type;
  if (!layers_.empty()) return {t, layers_.at(layer).max_size, layers_.at(layer).keep};
  return {t, plan_.layers.at(layer).max_size, plan_.layers.at(layer).keep};
}

void CudaSequence::ensure(const CudaContext& ctx, int need) {
  if (table_) return ensure_paged(ctx, need);
  const auto& pl = plan_.layers;
  const bool any_unbounded = std::any_of(pl.begin(), pl.end(), [](const LayerPlan& l) { return l.max_size == 0; });
  if (kv_.data() && (!any_unbounded || need <= cap_)) return;
  int cap = cap_;
  if (any_unbounded && need > cap)
    cap = need <= reserve_ ? reserve_ : (std::max(need, 2 * cap_) + 255) / 256 * 256;  // as reserved, else doubling
  const size_t cb = code_bytes(), sb = sb_bytes();
  size_t rows = 0;  // per kv head, over the layers
  for (const LayerPlan& l : pl) rows += l.max_size ? l.max_size : cap;
  DeviceBuffer nb(2 * kvh_ * rows * (cb + sb));
  std::vector<KvLayer> nl(pl.size());
  char* p = nb.as<char>();
  char* q = p + 2 * kvh_ * rows * cb;  // the (scale, bias) pairs follow every layer's codes
  // Keeps what is cached: the first `offset_` rows of each kv head of `from` in `to`.
  auto keep = [&](void* to, int to_cap, const void* from, int from_cap, size_t row) {
    copy_rows_async(ctx, to, to_cap * row, from, from_cap * row, std::min(from_cap, offset_) * row, kvh_);
  };
  for (size_t i = 0; i < pl.size(); ++i) {
    KvLayer& l = nl[i];
    l.capacity = pl[i].max_size ? pl[i].max_size : cap;
    l.max_size = pl[i].max_size;
    l.keep = pl[i].keep;
    l.group = group_;
    place_rows(l, p, q, static_cast<size_t>(kvh_) * l.capacity, cb, sb);
    if (!kv_.data()) continue;
    const KvLayer& o = layers_[i];
    keep(l.k, l.capacity, o.k, o.capacity, cb);
    keep(l.v, l.capacity, o.v, o.capacity, cb);
    if (sb) keep(l.ksb, l.capacity, o.ksb, o.capacity, sb), keep(l.vsb, l.capacity, o.vsb, o.capacity, sb);
  }
  ctx.sync();
  kv_ = std::move(nb);
  layers_ = std::move(nl);
  cap_ = cap;
  ++generation_;
}

void CudaSequence::read_layer(int layer, std::vector<float>& k, std::vector<float>& v) const {
  if (table_) throw Error("a paged K/V sequence cannot be written to a prompt cache file");
  const int n = offset_, d = d_;
  const LayerPlan& lp = plan_.layers.at(layer);
  if (lp.max_size && n > lp.max_size)
    throw Error("layer " + std::to_string(layer) + " keeps only its last " + std::to_string(lp.max_size) +
                " positions (a sliding window or --max-kv-size), not all " + std::to_string(n));
  k.assign(static_cast<size_t>(n) * kvh_ * d, 0.0f);
  v.assign(k.size(), 0.0f);
  if (n == 0) return;
  CPPLM_CHECK(ctx_ != nullptr, "CudaSequence without its context");
  const KvLayer& l = layers_.at(layer);
  const size_t cb = code_bytes(), ng = group_ ? d / group_ : 0;
  for (int which = 0; which < 2; ++which) {
    // The first n rows of each kv head (no ring has wrapped: n <= max_size).
    std::vector<char> codes(static_cast<size_t>(kvh_) * n * cb);
    std::vector<float2> sb(static_cast<size_t>(kvh_) * n * ng);
    for (int h = 0; h < kvh_; ++h) {
      const size_t row0 = static_cast<size_t>(h) * l.capacity;
      copy_to_host_async(*ctx_, codes.data() + h * n * cb, static_cast<const char*>(which ? l.v : l.k) + row0 * cb, n * cb);
      if (ng) copy_to_host_async(*ctx_, sb.data() + h * n * ng, (which ? l.vsb : l.ksb) + row0 * ng, n * ng * sizeof(float2));
    }
    ctx_->sync();
    float* out = (which ? v : k).data();
    for (int h = 0; h < kvh_; ++h)
      for (int p = 0; p < n; ++p) {
        const char* row = codes.data() + (static_cast<size_t>(h) * n + p) * cb;
        float* o = out + (static_cast<size_t>(p) * kvh_ + h) * d;
        for (int e = 0; e < d; ++e) {
          switch (kv_t_) {
            case DType::F32: std::memcpy(&o[e], row + 4 * e, 4); break;
            case DType::BF16:
            case DType::F16: {
              uint16_t u;
              std::memcpy(&u, row + 2 * e, 2);
              o[e] = kv_t_ == DType::BF16 ? bf16_to_f32(u) : f16_to_f32(u);
              break;
            }
            default: {
              const float2 s = sb[(static_cast<size_t>(h) * n + p) * ng + e / group_];
              o[e] = std::fma(s.x, static_cast<float>(static_cast<uint8_t>(row[e])), s.y);
            }
          }
        }
      }
  }
}

void CudaSequence::append_layer(int layer, const float* k, const float* v, int n) {
  CPPLM_CHECK(ctx_ != nullptr, "CudaSequence without its context");
  if (table_) throw Error("a prompt cache file loads into an unpaged K/V sequence only");
  if (offset_ != 0) throw Error("a prompt cache loads into an empty sequence");
  const LayerPlan& lp = plan_.layers.at(layer);
  if (lp.max_size && n > lp.max_size)
    throw Error("layer " + std::to_string(layer) + " keeps " + std::to_string(lp.max_size) +
                " positions (a sliding window or --max-kv-size) and the GPU loads no more; the prompt cache holds " +
                std::to_string(n));
  if (n <= 0) return;
  ensure(*ctx_, n);
  // Rows [n, k | v] f32 in, then the K/V append kernel rounds or quantizes them into the cache.
  const size_t kd = static_cast<size_t>(kvh_) * d_;
  std::vector<float> rows(static_cast<size_t>(n) * 2 * kd);
  for (int p = 0; p < n; ++p) {
    std::memcpy(rows.data() + p * 2 * kd, k + p * kd, kd * sizeof(float));
    std::memcpy(rows.data() + p * 2 * kd + kd, v + p * kd, kd * sizeof(float));
  }
  DeviceBuffer buf(rows.size() * sizeof(float)), off(sizeof(int));
  copy_to_device_async(*ctx_, buf.data(), rows.data(), rows.size() * sizeof(float));
  memset_async(*ctx_, off.data(), sizeof(int));
  kv_append(*ctx_, buf.as<float>(), n, static_cast<int>(2 * kd), 0, static_cast<int>(kd), kvh_, d_, layers_.at(layer),
            off.as<int>(), kv_t_);
  ctx_->sync();
  if (++loaded_layers_ == static_cast<int>(plan_.layers.size())) offset_ = n, loaded_layers_ = 0;
}

void CudaSequence::fill_random(const CudaContext& ctx, int offset, uint64_t seed) {
  if (table_) throw Error("fill_random: a paged K/V sequence");
  ensure(ctx, offset);
  if (kv_t_ != DType::U8) {
    cuda::fill_random(ctx, kv_.data(), kv_t_, static_cast<int64_t>(kv_.size() / dtype_size(kv_t_)), 1.0f, seed);
  } else {  // codes, then (scale, bias) pairs of about a float cache's range
    const size_t codes = kv_.size() / row_bytes() * code_bytes();
    fill_random_bits(ctx, kv_.as<uint32_t>(), static_cast<int64_t>(codes / 4), seed);
    cuda::fill_random(ctx, kv_.as<char>() + codes, DType::F32, static_cast<int64_t>((kv_.size() - codes) / 4), 1.0f / 128,
                      seed + 1);
  }
  ctx.sync();
  offset_ = offset;
}

}  // namespace cpplm::cuda
