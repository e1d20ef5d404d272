// CudaSequence: the device K/V caches of a sequence, grown (and copied) as it lengthens.
#include "runtime/cuda/cuda_sequence.h"

#include <algorithm>

namespace cpplm::cuda {

DType kv_device_dtype(KVType t) {
  switch (t) {
    case KVType::F32: return DType::F32;
    case KVType::BF16: return DType::BF16;
    case KVType::F16: return DType::F16;
    case KVType::Q8: break;
  }
  throw Error("an 8-bit K/V cache is not supported on the CUDA device yet (kv_bits 0, 16 or 32 are); use --device cpu");
}

SequenceState::LayerStorage CudaSequence::layer_storage(int layer) const {
  // What the device holds: the allocated layer once there is one, else what ensure() will allocate.
  const KVType t = kv_t_ == DType::BF16 ? KVType::BF16 : kv_t_ == DType::F16 ? KVType::F16 : KVType::F32;
  if (!layers_.empty()) return {t, layers_.at(layer).max_size, layers_.at(layer).keep};
  return {t, plan_.layers.at(layer).max_size, plan_.layers.at(layer).keep};
}

void CudaSequence::ensure(const CudaContext& ctx, int need) {
  const auto& pl = plan_.layers;
  const bool any_unbounded = std::any_of(pl.begin(), pl.end(), [](const LayerPlan& l) { return l.max_size == 0; });
  if (kv_.data() && (!any_unbounded || need <= cap_)) return;
  int cap = cap_;
  if (any_unbounded && need > cap) cap = std::max(need, 2 * cap_), cap = (cap + 255) / 256 * 256;
  const size_t es = dtype_size(kv_t_);
  size_t total = 0;
  for (const LayerPlan& l : pl) total += 2 * static_cast<size_t>(kvh_) * (l.max_size ? l.max_size : cap) * d_ * es;
  DeviceBuffer nb(total);
  std::vector<KvLayer> nl(pl.size());
  char* p = nb.as<char>();
  for (size_t i = 0; i < pl.size(); ++i) {
    KvLayer& l = nl[i];
    l.capacity = pl[i].max_size ? pl[i].max_size : cap;
    l.max_size = pl[i].max_size;
    l.keep = pl[i].keep;
    const size_t bytes = static_cast<size_t>(kvh_) * l.capacity * d_ * es;
    l.k = p;
    l.v = p + bytes;
    p += 2 * bytes;
    if (kv_.data()) {  // keep what is cached
      const KvLayer& o = layers_[i];
      const size_t rows = static_cast<size_t>(std::min(o.capacity, offset_)) * d_ * es;
      for (int kv = 0; kv < 2; ++kv)
        copy_rows_async(ctx, kv ? l.v : l.k, static_cast<size_t>(l.capacity) * d_ * es, kv ? o.v : o.k,
                        static_cast<size_t>(o.capacity) * d_ * es, rows, kvh_);
    }
  }
  ctx.sync();
  kv_ = std::move(nb);
  layers_ = std::move(nl);
  cap_ = cap;
  ++generation_;
}

void CudaSequence::fill_random(const CudaContext& ctx, int offset, uint64_t seed) {
  ensure(ctx, offset);
  cuda::fill_random(ctx, kv_.data(), kv_t_, static_cast<int64_t>(kv_.size() / dtype_size(kv_t_)), 1.0f, seed);
  ctx.sync();
  offset_ = offset;
}

}  // namespace cpplm::cuda
