// CudaContext and DeviceBuffer: device selection, stream, cuBLAS handle, allocations, error messages.
#include "backends/cuda/cuda_context.h"

#include "backends/cuda/cublas_api.h"

namespace cpplm::cuda {

void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw Error(std::string("CUDA error in ") + what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

void check_cublas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw Error(std::string("cuBLAS error in ") + what + ": " + cublas_api().status_string(s));
}

CudaContext::CudaContext(int device) : device_(device) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) throw Error("device cuda: no CUDA GPU is visible");
  if (device < 0 || device >= count)
    throw Error("device cuda:" + std::to_string(device) + ": only " + std::to_string(count) + " GPU(s) visible");
  CPPLM_CUDA_CHECK(cudaSetDevice(device));
  CPPLM_CUDA_CHECK(cudaGetDeviceProperties(&props_, device));
  CPPLM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  const CublasApi& blas = cublas_api();
  CPPLM_CUBLAS_CHECK(blas.create(&cublas_));
  CPPLM_CUBLAS_CHECK(blas.set_stream(cublas_, stream_));  // (resets the workspace: set after)
  // A fixed workspace (cuBLAS's default size on Hopper): GEMMs pick the same kernels inside a captured
  // graph as outside it, and a capture allocates nothing.
  constexpr size_t kWorkspace = size_t{32} << 20;
  CPPLM_CUDA_CHECK(cudaMalloc(&cublas_workspace_, kWorkspace));
  CPPLM_CUBLAS_CHECK(blas.set_workspace(cublas_, cublas_workspace_, kWorkspace));
  // Exact f32 products for f32 checkpoints (no TF32); bf16/f16 use the tensor cores regardless.
  CPPLM_CUBLAS_CHECK(blas.set_math_mode(cublas_, CUBLAS_DEFAULT_MATH));
}

CudaContext::~CudaContext() {
  if (cublas_) cublas_api().destroy(cublas_);
  if (cublas_workspace_) cudaFree(cublas_workspace_);
  if (stream_) cudaStreamDestroy(stream_);
}

void CudaContext::sync() const { CPPLM_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

DeviceBuffer::DeviceBuffer(size_t bytes) : n_(bytes) {
  if (bytes == 0) return;
  const cudaError_t e = cudaMalloc(&p_, bytes);
  if (e != cudaSuccess) {
    p_ = nullptr;
    n_ = 0;
    throw Error("CUDA: cannot allocate " + std::to_string(bytes) + " bytes of device memory: " + cudaGetErrorString(e));
  }
}

DeviceBuffer::~DeviceBuffer() {
  if (p_) cudaFree(p_);
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (p_) cudaFree(p_);
    p_ = o.p_;
    n_ = o.n_;
    o.p_ = nullptr;
    o.n_ = 0;
  }
  return *this;
}

bool DeviceBuffer::ensure(size_t bytes) {
  if (bytes <= n_) return false;
  *this = DeviceBuffer();
  *this = DeviceBuffer(bytes);
  return true;
}

}  // namespace cpplm::cuda
