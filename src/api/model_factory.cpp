// Device selection for loaded models.
#include "api/model_factory.h"

#include <algorithm>
#include <filesystem>

#include "core/file_io.h"

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

std::vector<int32_t> stop_token_ids(const Tokenizer* tokenizer, const ModelArgs& args) {
  std::vector<int32_t> ids;
  if (tokenizer) ids = tokenizer->eos_ids();
  for (int32_t e : args.eos_token_ids)
    if (std::find(ids.begin(), ids.end(), e) == ids.end()) ids.push_back(e);
  return ids;
}

TextSide load_text_side(const std::string& dir, const std::string& override_template) {
  namespace fs = std::filesystem;
  TextSide t;
  if (fs::exists(fs::path(dir) / "tokenizer.json") || fs::exists(fs::path(dir) / "tokenizer.model")) {
    t.tokenizer = Tokenizer::load(dir);
    try {
      t.chat_template = jinja::ChatTemplate::from_dir(dir);
    } catch (const Error& e) {
      t.template_error = e.what();
    }
  }
  if (override_template.empty()) return t;
  if (fs::is_directory(override_template)) {
    t.chat_template = jinja::ChatTemplate::from_dir(override_template);
    if (!t.chat_template.available()) throw Error(override_template + ": no chat template in this folder");
  } else {
    if (!t.tokenizer) throw Error("this model folder has no tokenizer (tokenizer.json or tokenizer.model)");
    t.chat_template = jinja::ChatTemplate(read_file(override_template), t.tokenizer->bos_token(), t.tokenizer->eos_token(),
                                          override_template);
  }
  t.template_error.clear();
  return t;
}

}  // namespace cpplm
