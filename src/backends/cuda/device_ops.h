// Host-side CUDA runtime calls the executors need (copies, pinned host memory, captured graphs,
// device queries), so that nothing outside backends/cuda calls the CUDA runtime directly.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "backends/cuda/cuda_context.h"

namespace cpplm::cuda {

// GPUs visible to the CUDA runtime (0 when there is no driver or device).
int device_count();

// Blocking host-to-device copies (weight uploads): contiguous, and `rows` rows of `width` bytes
// placed dst_pitch apart.
void upload(void* dst, const void* src, size_t bytes);
void upload_rows(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width, size_t rows);
// Copies enqueued on the context's stream (the host side must stay valid until they run).
void copy_to_device_async(const CudaContext& ctx, void* dst, const void* src, size_t bytes);
void copy_to_host_async(const CudaContext& ctx, void* dst, const void* src, size_t bytes);
void memset_async(const CudaContext& ctx, void* dst, size_t bytes);
// Device memory free now on the context's device (cudaMemGetInfo), in bytes.
size_t free_device_memory(const CudaContext& ctx);
// rows rows of `width` bytes from src (rows src_pitch apart) to dst (dst_pitch apart), device to device.
void copy_rows_async(const CudaContext& ctx, void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width,
                     size_t rows);

// A named range for profilers while in scope (NVTX: `ncu --nvtx --nvtx-include "decode_batch/"` profiles
// only the kernels launched inside it); costs nothing when no profiler is attached.
class ProfileRange {
 public:
  explicit ProfileRange(const char* name);
  ~ProfileRange();
  ProfileRange(const ProfileRange&) = delete;
  ProfileRange& operator=(const ProfileRange&) = delete;
};

// Page-locked host memory (cudaMallocHost): copies from and to it can run inside a graph.
class PinnedBuffer {
 public:
  explicit PinnedBuffer(size_t bytes);
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  void* data() const { return p_; }

 private:
  void* p_ = nullptr;
};

// A CUDA graph captured from what `enqueue` puts on the context's stream, replayed by launch().
class CapturedGraph {
 public:
  CapturedGraph() = default;
  ~CapturedGraph() { reset(); }
  CapturedGraph(const CapturedGraph&) = delete;
  CapturedGraph& operator=(const CapturedGraph&) = delete;
  // Replaces the graph with a new capture; an exception from `enqueue` ends the capture and leaves
  // no graph.
  void capture(const CudaContext& ctx, const std::function<void()>& enqueue);
  void launch(const CudaContext& ctx) const;
  bool empty() const { return exec_ == nullptr; }
  void reset();

 private:
  void* exec_ = nullptr;  // cudaGraphExec_t
};

// Graphs of a step whose shape takes few values (its Key). run() replays the graph of `key` when one
// was captured over the same `buffers` (a digest of the addresses the step uses); captures one when
// the step before had this key and these buffers, so that a shape's first step, which may grow
// buffers, runs directly; otherwise runs `enqueue` directly. New buffers drop every graph (they hold
// the old addresses). A shape whose capture fails runs directly from then on.
class GraphCache {
 public:
  using Key = std::array<int, 3>;
  void run(const CudaContext& ctx, const Key& key, uint64_t buffers, const std::function<void()>& enqueue);

 private:
  static constexpr size_t kMost = 32;
  std::vector<std::pair<Key, std::unique_ptr<CapturedGraph>>> graphs_;  // null: the capture failed
  uint64_t buffers_ = 0;
  Key last_{};
  bool has_last_ = false;
};

// Device-to-device copy bandwidth of `device`: bytes read + written per second, median of ten
// copies of `bytes` after two warm-ups.
double copy_bandwidth(int device, size_t bytes);

}  // namespace cpplm::cuda
