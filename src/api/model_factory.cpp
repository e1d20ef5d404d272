// Device selection for loaded models.
#include "api/model_factory.h"

#include "core/error.h"
#include "model/llama.h"
#include "runtime/cpu_model.h"

namespace cpplm {

bool cuda_available() { return false; }

std::unique_ptr<LanguageModel> load_language_model(const std::string& dir, const std::string& device) {
  if (device != "cpu" && device != "cuda" && device != "auto")
    throw Error("unknown device \"" + device + "\" (expected cpu, cuda or auto)");
  if (device == "cuda" && !cuda_available()) throw Error("device cuda: this build has no CUDA support or no GPU is visible");
  return std::make_unique<CpuModel>(Model::load(dir));
}

}  // namespace cpplm
