// CudaSequence: the device K/V caches of a sequence, grown (and copied) as it lengthens.
#include "runtime/cuda/cuda_sequence.h"

#include <algorithm>

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

CudaSequence::CudaSequence(SequencePlan plan, int kv_heads, int head_dim)
    : plan_(std::move(plan)), kvh_(kv_heads), d_(head_dim), kv_t_(kv_device_dtype(plan_.kv_type)) {
  if (kv_t_ == DType::U8) {
    if (head_dim % 8 != 0)
      throw Error("an 8-bit K/V cache on the CUDA device needs head_dim divisible by 8 (head_dim is " + std::to_string(head_dim) +
                  ")");
    group_ = kv_q8_group(head_dim);
  }
}

SequenceState::LayerStorage CudaSequence::layer_storage(int layer) const {
  // What the device holds: the allocated layer once there is one, else what ensure() will allocate.
  const KVType t = plan_.kv_type;
  if (!layers_.empty()) return {t, layers_.at(layer).max_size, layers_.at(layer).keep};
  return {t, plan_.layers.at(layer).max_size, plan_.layers.at(layer).keep};
}

void CudaSequence::ensure(const CudaContext& ctx, int need) {
  const auto& pl = plan_.layers;
  const bool any_unbounded = std::any_of(pl.begin(), pl.end(), [](const LayerPlan& l) { return l.max_size == 0; });
  if (kv_.data() && (!any_unbounded || need <= cap_)) return;
  int cap = cap_;
  if (any_unbounded && need > cap) cap = std::max(need, 2 * cap_), cap = (cap + 255) / 256 * 256;
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
    const size_t n = static_cast<size_t>(kvh_) * l.capacity;
    l.k = p;
    l.v = p + n * cb;
    p += 2 * n * cb;
    if (sb) {
      l.ksb = reinterpret_cast<float2*>(q);
      l.vsb = reinterpret_cast<float2*>(q + n * sb);
      q += 2 * n * sb;
    }
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

void CudaSequence::fill_random(const CudaContext& ctx, int offset, uint64_t seed) {
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
