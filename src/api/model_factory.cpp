// Device selection for loaded models.
#include "api/model_factory.h"

#include "core/error.h"
#include "model/llama.h"
#include "runtime/cpu_model.h"
#ifdef CPPLM_HAVE_CUDA
#include "runtime/cuda/cuda_model.h"
#endif

namespace cpplm {

bool cuda_available() {
#ifdef CPPLM_HAVE_CUDA
  return cuda_device_count() > 0;
#else
  return false;
#endif
}

std::unique_ptr<LanguageModel> load_language_model(const std::string& dir, const std::string& device,
                                                   const std::function<void(size_t, size_t)>& progress) {
  if (device != "cpu" && device != "cuda" && device != "auto")
    throw Error("unknown device \"" + device + "\" (expected cpu, cuda or auto)");
  if (device == "cuda" && !cuda_available()) throw Error("device cuda: this build has no CUDA support or no GPU is visible");
  auto cpu = Model::load(dir);
#ifdef CPPLM_HAVE_CUDA
  if (device != "cpu" && cuda_available()) {
    CudaOptions o;
    o.progress = progress;
    return make_cuda_model(*cpu, o);
  }
#endif
  (void)progress;
  return std::make_unique<CpuModel>(std::move(cpu));
}

}  // namespace cpplm
