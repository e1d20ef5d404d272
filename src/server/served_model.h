// What `cpplm serve` serves: one loaded model with its tokenizer, chat template and stop tokens.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/language_model.h"
#include "tokenizer/jinja/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace cpplm::server {

struct ServedModel {
  std::string id;  // the model's name in the API ("model" of requests, /v1/models)
  std::unique_ptr<LanguageModel> model;
  std::unique_ptr<Tokenizer> tokenizer;  // null: token ids only, no text (benchmarks)
  jinja::ChatTemplate chat_template;
  std::string template_error;  // the checkpoint's template did not parse: chat requests get it as an error
  std::vector<int32_t> eos;    // generation stops after any of these
};

}  // namespace cpplm::server
