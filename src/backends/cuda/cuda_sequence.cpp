// CudaSequence: growing (and copying) the device K/V caches of a sequence.
#include "backends/cuda/cuda_sequence.h"

#include <algorithm>

namespace cpplm::cuda {

void CudaSequence::ensure(const CudaContext& ctx, int need) {
  const bool any_unbounded = std::any_of(spec_.begin(), spec_.end(), [](const Spec& s) { return s.max_size == 0; });
  if (kv_.data() && (!any_unbounded || need <= cap_)) return;
  int cap = cap_;
  if (any_unbounded && need > cap) cap = std::max(need, 2 * cap_), cap = (cap + 255) / 256 * 256;
  const size_t es = dtype_size(kv_t_);
  size_t total = 0;
  for (const Spec& s : spec_) total += 2 * static_cast<size_t>(kvh_) * (s.max_size ? s.max_size : cap) * d_ * es;
  DeviceBuffer nb(total);
  std::vector<KvLayer> nl(spec_.size());
  char* p = nb.as<char>();
  for (size_t i = 0; i < spec_.size(); ++i) {
    const Spec& s = spec_[i];
    KvLayer& l = nl[i];
    l.capacity = s.max_size ? s.max_size : cap;
    l.max_size = s.max_size;
    l.keep = s.keep;
    const size_t bytes = static_cast<size_t>(kvh_) * l.capacity * d_ * es;
    l.k = p;
    l.v = p + bytes;
    p += 2 * bytes;
    if (kv_.data()) {  // keep what is cached
      const KvLayer& o = layers_[i];
      const size_t rows = static_cast<size_t>(std::min(o.capacity, offset_)) * d_ * es;
      for (int kv = 0; kv < 2; ++kv)
        CPPLM_CUDA_CHECK(cudaMemcpy2DAsync(kv ? l.v : l.k, static_cast<size_t>(l.capacity) * d_ * es, kv ? o.v : o.k,
                                           static_cast<size_t>(o.capacity) * d_ * es, rows, kvh_, cudaMemcpyDeviceToDevice, ctx.stream()));
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
