// Picks the device for a checkpoint and loads it there (the one place that decides the backend).
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "runtime/language_model.h"
#include "tokenizer/jinja/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace cpplm {

// device: "cpu", "cuda" or "auto" (cuda when built with CUDA and a GPU is present, else cpu).
// Throws Error for "cuda" on a build or machine without it.
// progress(done, total): bytes of weights copied to the GPU.
std::unique_ptr<LanguageModel> load_language_model(const std::string& dir, const std::string& device,
                                                   const std::function<void(size_t, size_t)>& progress = {});

// A checkpoint's tokenizer and chat template. A folder without tokenizer files gives no tokenizer
// (test checkpoints run from token ids). The checkpoint's template is parsed here, but a template
// that does not parse is kept as `template_error`, thrown when it is used (generation from raw
// text, perplexity and tokenizing need none). `override_template`: a .jinja file, or a folder whose
// tokenizer_config.json / chat_template.jinja holds one; errors in it throw at once.
struct TextSide {
  std::unique_ptr<Tokenizer> tokenizer;
  jinja::ChatTemplate chat_template;
  std::string template_error;
};
TextSide load_text_side(const std::string& dir, const std::string& override_template);

// The ids generation stops at: the tokenizer's EOS ids (none without a tokenizer), then
// config.json's eos_token_id entries it lacks.
std::vector<int32_t> stop_token_ids(const Tokenizer* tokenizer, const ModelArgs& args);

// True when this build has CUDA and a GPU is visible.
bool cuda_available();

}  // namespace cpplm
