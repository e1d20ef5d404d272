// Device selection for loaded models.
#include "api/model_factory.h"

#include <algorithm>
#include <filesystem>

#include "core/file_io.h"

#include "core/error.h"
#include "io/gguf.h"
#include "model/llama.h"
#include "runtime/cpu_model.h"
#include "tokenizer/gguf_tokenizer.h"
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

namespace {

// A GGUF file's tokenizer.ggml.* keys as the tokenizer layer's plain GgufVocab (it may not read GGUF itself) and
// its tokenizer.chat_template. A file without tokenizer.ggml.model gives no tokenizer.
void load_gguf_text_side(const std::string& path, TextSide& t) {
  const GgufFile f(path);
  GgufVocab v;
  v.source = path;
  std::optional<std::string> model = f.get_string_opt("tokenizer.ggml.model");
  if (!model) return;
  v.model = *model;
  v.pre = f.get_string_opt("tokenizer.ggml.pre").value_or("");
  auto strings = [&](const char* key) -> std::vector<std::string_view> {
    const GgufValue* a = f.get_array_opt(key);
    if (!a) return {};
    if (a->elem_type() != GgufType::STRING) throw Error(path + ": key \"" + key + "\": expected an array of strings");
    return a->strings();
  };
  v.tokens = strings("tokenizer.ggml.tokens");
  v.merges = strings("tokenizer.ggml.merges");
  if (const GgufValue* a = f.get_array_opt("tokenizer.ggml.scores"))
    for (size_t i = 0; i < a->size(); ++i) v.scores.push_back(static_cast<float>(a->float_at(i)));
  if (const GgufValue* a = f.get_array_opt("tokenizer.ggml.token_type"))
    for (size_t i = 0; i < a->size(); ++i) v.token_types.push_back(static_cast<int32_t>(a->int_at(i)));
  auto id = [&](const char* key) -> std::optional<int32_t> {
    if (auto u = f.get_u32_opt(key)) return static_cast<int32_t>(*u);
    return std::nullopt;
  };
  v.bos_id = id("tokenizer.ggml.bos_token_id");
  v.eos_id = id("tokenizer.ggml.eos_token_id");
  v.eot_id = id("tokenizer.ggml.eot_token_id");
  v.eom_id = id("tokenizer.ggml.eom_token_id");
  v.unk_id = id("tokenizer.ggml.unknown_token_id");
  v.pad_id = id("tokenizer.ggml.padding_token_id");
  v.add_bos = f.get_bool_opt("tokenizer.ggml.add_bos_token");
  v.add_eos = f.get_bool_opt("tokenizer.ggml.add_eos_token");
  v.add_space_prefix = f.get_bool_opt("tokenizer.ggml.add_space_prefix");
  t.tokenizer = Tokenizer::from_gguf(v);
  if (std::optional<std::string> tmpl = f.get_string_opt("tokenizer.chat_template")) {
    try {
      t.chat_template = jinja::ChatTemplate(*tmpl, t.tokenizer->bos_token(), t.tokenizer->eos_token(), path);
    } catch (const Error& e) {
      t.template_error = e.what();
    }
  }
}

}  // namespace

TextSide load_text_side(const std::string& dir, const std::string& override_template) {
  namespace fs = std::filesystem;
  TextSide t;
  if (is_gguf_file(dir)) {
    load_gguf_text_side(dir, t);
  } else if (fs::exists(fs::path(dir) / "tokenizer.json") || fs::exists(fs::path(dir) / "tokenizer.model")) {
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
    t.chat_template =
        jinja::ChatTemplate(read_file(override_template), t.tokenizer->bos_token(), t.tokenizer->eos_token(), override_template);
  }
  t.template_error.clear();
  return t;
}

}  // namespace cpplm
