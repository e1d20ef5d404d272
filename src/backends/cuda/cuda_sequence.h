// One sequence's K/V caches on the CUDA device (cuda_model.cpp's decode and forward use them).
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/kernels.h"
#include "runtime/language_model.h"

namespace cpplm::cuda {

// One sequence's K/V caches on the device: per layer [kv_heads, capacity, head_dim] K then V.
// Bounded layers (rings) hold exactly max_size slots; unbounded ones share a capacity that doubles.
class CudaSequence : public SequenceState {
 public:
  struct Spec {
    int max_size = 0, keep = 0;
  };
  CudaSequence(std::vector<Spec> spec, int kv_heads, int head_dim, DType kv_t)
      : spec_(std::move(spec)), kvh_(kv_heads), d_(head_dim), kv_t_(kv_t) {}
  ~CudaSequence() override {
    if (graph_) cudaGraphExecDestroy(graph_);
  }

  int offset() const override { return offset_; }
  bool can_trim_to(int offset) const override {
    if (offset > offset_) return false;
    for (const Spec& s : spec_)
      if (s.max_size > 0 && offset != offset_ && offset_ > s.max_size) return false;  // the ring overwrote them
    return true;
  }
  void trim_to(int offset) override {
    CPPLM_CHECK(can_trim_to(offset), "trim_to beyond what the cache retains");
    offset_ = offset;
  }
  size_t nbytes() const override { return kv_.size(); }
  size_t bytes_per_position() const override { return 2 * spec_.size() * static_cast<size_t>(kvh_) * d_ * dtype_size(kv_t_); }
  std::string kv_dtype() const override { return kv_t_ == DType::BF16 ? "bf16" : kv_t_ == DType::F16 ? "f16" : "f32"; }
  DType kv_type() const { return kv_t_; }

  // Makes room for positions [0, need); may move the buffer (then a captured graph is stale).
  void ensure(const CudaContext& ctx, int need);
  // Sets `offset` positions of random keys/values (benchmarks at long context without a prefill).
  void fill_random(const CudaContext& ctx, int offset, uint64_t seed);
  const std::vector<Spec>& spec() const { return spec_; }
  const KvLayer& layer(int i) const { return layers_[i]; }
  int max_capacity() const {
    int c = 0;
    for (const KvLayer& l : layers_) c = std::max(c, l.capacity);
    return c;
  }

  int offset_ = 0;
  cudaGraphExec_t graph_ = nullptr;
  uint64_t graph_generation_ = 0;  // generation() the graph was captured with

  // Changes whenever the cache moves (an address alone could be reused by a later allocation).
  uint64_t generation() const { return generation_; }

 private:
  std::vector<Spec> spec_;
  int kvh_, d_;
  DType kv_t_;
  int cap_ = 0;
  uint64_t generation_ = 0;
  DeviceBuffer kv_;
  std::vector<KvLayer> layers_;
};

}  // namespace cpplm::cuda
