// cublas_api(): resolves the backend's cuBLAS calls from the shared library at first use.
#include "backends/cuda/cublas_api.h"

#include <dlfcn.h>

#include <string>

#include "core/error.h"

namespace cpplm::cuda {
namespace {

CublasApi load() {
  const std::string name = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
  void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
#ifdef CPPLM_CUBLAS_DIR
  if (!lib) lib = dlopen((std::string(CPPLM_CUBLAS_DIR) + "/" + name).c_str(), RTLD_NOW | RTLD_LOCAL);
#endif
  if (!lib)
    throw Error("device cuda: cannot load " + name + " (cuBLAS of CUDA " + std::to_string(CUBLAS_VER_MAJOR) + "): " + dlerror() +
                "; add its folder to LD_LIBRARY_PATH");
  auto sym = [&](auto& fn, const char* s) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, s));
    if (!fn) throw Error("device cuda: " + name + " lacks " + s);
  };
  CublasApi a;
  sym(a.create, "cublasCreate_v2");
  sym(a.destroy, "cublasDestroy_v2");
  sym(a.set_stream, "cublasSetStream_v2");
  sym(a.set_math_mode, "cublasSetMathMode");
  sym(a.set_workspace, "cublasSetWorkspace_v2");
  sym(a.gemm_ex, "cublasGemmEx");
  sym(a.status_string, "cublasGetStatusString");
  return a;  // the library stays loaded for the life of the process
}

}  // namespace

const CublasApi& cublas_api() {
  static const CublasApi api = load();
  return api;
}

}  // namespace cpplm::cuda
