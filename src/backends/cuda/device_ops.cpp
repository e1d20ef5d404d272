// Copies, pinned memory, graph capture and device queries over the CUDA runtime (device_ops.h).
#include "backends/cuda/device_ops.h"

#include <algorithm>
#include <vector>

#include <nvtx3/nvToolsExt.h>

#include "backends/cuda/kernels.h"

namespace cpplm::cuda {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return n;
}

void upload(void* dst, const void* src, size_t bytes) { CPPLM_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice)); }

void upload_rows(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width, size_t rows) {
  CPPLM_CUDA_CHECK(cudaMemcpy2D(dst, dst_pitch, src, src_pitch, width, rows, cudaMemcpyHostToDevice));
}

void copy_to_device_async(const CudaContext& ctx, void* dst, const void* src, size_t bytes) {
  CPPLM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx.stream()));
}

void copy_to_host_async(const CudaContext& ctx, void* dst, const void* src, size_t bytes) {
  CPPLM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx.stream()));
}

size_t free_device_memory(const CudaContext&) {
  size_t free = 0, total = 0;
  if (cudaMemGetInfo(&free, &total) != cudaSuccess) return 0;
  return free;
}

void memset_async(const CudaContext& ctx, void* dst, size_t bytes) {
  CPPLM_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, ctx.stream()));
}

void copy_rows_async(const CudaContext& ctx, void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width,
                     size_t rows) {
  CPPLM_CUDA_CHECK(cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, width, rows, cudaMemcpyDeviceToDevice, ctx.stream()));
}

ProfileRange::ProfileRange(const char* name) { nvtxRangePushA(name); }
ProfileRange::~ProfileRange() { nvtxRangePop(); }

PinnedBuffer::PinnedBuffer(size_t bytes) { CPPLM_CUDA_CHECK(cudaMallocHost(&p_, bytes)); }

PinnedBuffer::~PinnedBuffer() {
  if (p_) cudaFreeHost(p_);
}

void CapturedGraph::reset() {
  if (exec_) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  exec_ = nullptr;
}

void CapturedGraph::capture(const CudaContext& ctx, const std::function<void()>& enqueue) {
  reset();
  cudaGraph_t g = nullptr;
  CPPLM_CUDA_CHECK(cudaStreamBeginCapture(ctx.stream(), cudaStreamCaptureModeThreadLocal));
  try {
    enqueue();
  } catch (...) {
    cudaStreamEndCapture(ctx.stream(), &g);
    if (g) cudaGraphDestroy(g);
    throw;
  }
  CPPLM_CUDA_CHECK(cudaStreamEndCapture(ctx.stream(), &g));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t e = cudaGraphInstantiate(&exec, g, 0);
  cudaGraphDestroy(g);
  CPPLM_CUDA_CHECK(e);
  exec_ = exec;
}

void CapturedGraph::launch(const CudaContext& ctx) const {
  CPPLM_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), ctx.stream()));
}

void GraphCache::run(const CudaContext& ctx, const Key& key, uint64_t buffers, const std::function<void()>& enqueue) {
  if (buffers != buffers_) {
    graphs_.clear();
    buffers_ = buffers;
    has_last_ = false;
  }
  for (const auto& [k, g] : graphs_) {
    if (k != key) continue;
    if (g) g->launch(ctx);
    else enqueue();
    return;
  }
  if (!has_last_ || last_ != key) {
    enqueue();
    last_ = key;
    has_last_ = true;
    return;
  }
  has_last_ = false;
  if (graphs_.size() >= kMost) graphs_.erase(graphs_.begin());
  auto g = std::make_unique<CapturedGraph>();
  try {
    g->capture(ctx, enqueue);
  } catch (const Error&) {
    cudaGetLastError();  // a capture's errors are not sticky: the stream runs the step directly
    graphs_.emplace_back(key, nullptr);
    enqueue();
    return;
  }
  g->launch(ctx);
  graphs_.emplace_back(key, std::move(g));
}

double copy_bandwidth(int device, size_t bytes) {
  CudaContext ctx(device);
  DeviceBuffer a(bytes), b(bytes);
  fill_random(ctx, a.data(), DType::F32, static_cast<int64_t>(bytes / 4), 1.0f, 1);
  cudaEvent_t e0, e1;
  CPPLM_CUDA_CHECK(cudaEventCreate(&e0));
  CPPLM_CUDA_CHECK(cudaEventCreate(&e1));
  std::vector<float> ms;
  for (int i = 0; i < 12; ++i) {
    CPPLM_CUDA_CHECK(cudaEventRecord(e0, ctx.stream()));
    CPPLM_CUDA_CHECK(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice, ctx.stream()));
    CPPLM_CUDA_CHECK(cudaEventRecord(e1, ctx.stream()));
    CPPLM_CUDA_CHECK(cudaEventSynchronize(e1));
    float t = 0;
    CPPLM_CUDA_CHECK(cudaEventElapsedTime(&t, e0, e1));
    if (i >= 2) ms.push_back(t);  // two warm-ups
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  std::sort(ms.begin(), ms.end());
  return 2.0 * static_cast<double>(bytes) / (ms[ms.size() / 2] * 1e-3);
}

}  // namespace cpplm::cuda
