// CudaContext: the device, stream, cuBLAS handle and error checks every CUDA launcher takes explicitly.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "core/error.h"

namespace cpplm::cuda {

// Throws Error naming the failed call and CUDA's message.
void check_cuda(cudaError_t e, const char* what);
void check_cublas(cublasStatus_t s, const char* what);
#define CPPLM_CUDA_CHECK(call) ::cpplm::cuda::check_cuda((call), #call)
#define CPPLM_CUBLAS_CHECK(call) ::cpplm::cuda::check_cublas((call), #call)
// After a kernel launch: catches bad launch configurations at once.
#define CPPLM_CUDA_LAUNCHED() ::cpplm::cuda::check_cuda(cudaGetLastError(), "kernel launch")

// One device with its stream and cuBLAS handle; owned by a CudaModel, passed to every launcher.
class CudaContext {
 public:
  explicit CudaContext(int device);
  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  const cudaDeviceProp& props() const { return props_; }
  int num_sms() const { return props_.multiProcessorCount; }
  // While set (the decode step is being enqueued), kernels launch as programmatic dependents.
  bool pdl() const { return pdl_; }
  void set_pdl(bool on) { pdl_ = on; }
  void sync() const;

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  void* cublas_workspace_ = nullptr;  // the handle's own, so that captured GEMMs allocate nothing
  cudaDeviceProp props_{};
  bool pdl_ = false;
};

// Move-only device allocation (cudaMalloc); zero bytes = null.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), n_(o.n_) {
    o.p_ = nullptr;
    o.n_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* data() const { return p_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(p_);
  }
  size_t size() const { return n_; }
  // Reallocates (contents lost) when smaller than `bytes`; returns true when it did.
  bool ensure(size_t bytes);

 private:
  void* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace cpplm::cuda
