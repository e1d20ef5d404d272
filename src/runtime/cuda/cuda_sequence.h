// One sequence's K/V caches on the CUDA device, laid out by its layer plan (cuda_model.cpp's decode
// and forward use them).
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/device_ops.h"
#include "backends/cuda/kernels.h"
#include "runtime/language_model.h"

namespace cpplm::cuda {

// The device dtype of a plan's K/V storage; throws Error for what the CUDA kernels do not store.
DType kv_device_dtype(KVType t);

// The device storage of a paged K/V pool (model/kv_pool.h): per layer, K and V rows [blocks,
// kv_heads, block_size] (and an 8-bit cache's (scale, bias) rows likewise), in one allocation.
// Copy-on-write copies a block of every layer on the context's stream (KVPool::copy).
class CudaKVPool {
 public:
  CudaKVPool(const CudaContext& ctx, size_t layers, int kv_heads, int head_dim, KVType type, int blocks, int block_size);
  CudaKVPool(const CudaKVPool&) = delete;
  CudaKVPool& operator=(const CudaKVPool&) = delete;
  KVPool& pool() { return pool_; }
  KVType type() const { return type_; }
  // Layer i's storage (blocks, capacity, max_size and keep left for the sequence to set).
  const KvLayer& layer(size_t i) const { return layers_.at(i); }
  // One block in every layer.
  static size_t block_bytes(size_t layers, int kv_heads, int head_dim, KVType type, int block_size);

 private:
  KVPool pool_;
  KVType type_;
  size_t code_bytes_ = 0, sb_bytes_ = 0;  // one row's codes or floats, and its (scale, bias) pairs
  DeviceBuffer buf_;
  std::vector<KvLayer> layers_;
};

// One sequence's K/V caches on the device: per layer [kv_heads, capacity, head_dim] K then V, and
// for an 8-bit cache (kv_type U8) every layer's (scale, bias) rows after all the codes (KvLayer).
// Bounded layers (rings) hold exactly max_size slots; unbounded ones share a capacity that doubles
// (first the positions reserve() announced, when given).
class CudaSequence : public SequenceState {
 public:
  // With `pool`, the caches live in its blocks (paged; plan.kv_type must be the pool's).
  CudaSequence(SequencePlan plan, int kv_heads, int head_dim, CudaKVPool* pool = nullptr);

  int offset() const override { return offset_; }
  bool can_trim_to(int offset) const override { return plan_.can_trim(offset_, offset); }
  void trim_to(int offset) override;
  size_t nbytes() const override;
  size_t bytes_per_position() const override { return 2 * plan_.layers.size() * static_cast<size_t>(kvh_) * row_bytes(); }
  std::string kv_dtype() const override { return kv_type_name(plan_.kv_type); }
  const SequencePlan& plan() const override { return plan_; }
  LayerStorage layer_storage(int layer) const override;
  DType kv_type() const { return kv_t_; }

  // Prompt cache files (SequenceState): the device's rows converted on the host. Loading needs the
  // context the sequence's model runs on (set_context); a ring layer takes at most its size.
  void read_layer(int layer, std::vector<float>& k, std::vector<float>& v) const override;
  void append_layer(int layer, const float* k, const float* v, int n) override;
  void set_context(const CudaContext* ctx) { ctx_ = ctx; }
  void reserve(int positions) override;
  const BlockTable* blocks() const override { return table_.get(); }
  bool shares_blocks() const override;
  void adopt_blocks(std::span<const int32_t> ids) override;

  // Makes room for positions [0, need); may move the buffer (then a captured graph is stale).
  void ensure(const CudaContext& ctx, int need);
  // Sets `offset` positions of random keys/values (benchmarks at long context without a prefill).
  void fill_random(const CudaContext& ctx, int offset, uint64_t seed);
  const KvLayer& layer(int i) const { return layers_[i]; }
  int max_capacity() const {
    int c = 0;
    for (const KvLayer& l : layers_) c = std::max(c, l.capacity);
    return c;
  }

  int offset_ = 0;
  CapturedGraph graph_;            // the decode step (cuda_model.cpp)
  uint64_t graph_generation_ = 0;  // generation() the graph was captured with

  // Changes whenever the cache moves (an address alone could be reused by a later allocation).
  uint64_t generation() const { return generation_; }

 private:
  SequencePlan plan_;
  int kvh_, d_;
  DType kv_t_;
  int group_ = 0;  // U8: elements per (scale, bias) pair
  int cap_ = 0;
  // Bytes of one cached row of one kv head: its codes or floats, and an 8-bit row's (scale, bias) pairs.
  size_t code_bytes() const { return static_cast<size_t>(d_) * dtype_size(kv_t_); }
  size_t sb_bytes() const { return group_ ? static_cast<size_t>(d_ / group_) * sizeof(float2) : 0; }
  size_t row_bytes() const { return code_bytes() + sb_bytes(); }
  uint64_t generation_ = 0;
  const CudaContext* ctx_ = nullptr;
  int loaded_layers_ = 0;  // append_layer: layers loaded so far (offset_ moves when all are)
  int reserve_ = 0;        // reserve(): the first allocation of unbounded layers takes this many positions
  DeviceBuffer kv_;
  std::vector<KvLayer> layers_;
  // Paged: the pool, this sequence's blocks, and their ids on the device (room for every block of
  // the pool, so the address a captured graph holds never changes), uploaded when they change.
  CudaKVPool* pool_ = nullptr;
  std::unique_ptr<BlockTable> table_;
  DeviceBuffer d_table_;
  uint64_t uploaded_ = ~uint64_t{0};          // the table version d_table_ holds
  std::vector<std::pair<int, int>> rings_;  // the layers' distinct (max_size, keep): their slots map alike
  int slots_for(int positions) const;  // the most slots a layer uses for that many positions
  void ensure_paged(const CudaContext& ctx, int need);
};

}  // namespace cpplm::cuda
