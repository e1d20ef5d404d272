// cuBLAS opened on first use (dlopen), not linked: a binary built with CUDA then starts without
// loading libcublasLt, which alone costs ~200 MB of resident memory and ~0.4 s on every run, GPU or not.
#pragma once
#include <cublas_v2.h>

namespace cpplm::cuda {

// The cuBLAS entry points the backend calls (cublas_v2.h maps cublasCreate to cublasCreate_v2, ...).
struct CublasApi {
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasDestroy_v2) destroy = nullptr;
  decltype(&cublasSetStream_v2) set_stream = nullptr;
  decltype(&cublasSetMathMode) set_math_mode = nullptr;
  decltype(&cublasSetWorkspace_v2) set_workspace = nullptr;
  // The C entry point (C++ sees an overload taking cudaDataType for the compute type too).
  cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*, const void*,
                            cudaDataType, int, const void*, cudaDataType, int, const void*, void*, cudaDataType, int,
                            cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
  decltype(&cublasGetStatusString) status_string = nullptr;
};

// Loads libcublas.so.<major of the headers> once (the loader's search path, then the toolkit's
// library folder this was built against); throws Error naming the library when it cannot.
const CublasApi& cublas_api();

}  // namespace cpplm::cuda
