// `cpplm generate`: text (or token ids) in, streamed text out, with mlx-lm's options.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_util.h"
#include "commands.h"
#include "gen_options.h"

namespace cpplm::cli {
namespace {

constexpr int kGenerateMaxTokens = 100;  // mlx_lm.generate's DEFAULT_MAX_TOKENS

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::string tok;
  std::stringstream ss(s);
  while (std::getline(ss, tok, ',')) {
    size_t pos = 0;
    long v = 0;
    try {
      v = std::stol(tok, &pos);
    } catch (...) {
      pos = 0;
    }
    if (pos == 0 || tok.find_first_not_of(" \t", pos) != std::string::npos || v < 0 || v > INT32_MAX)
      throw CLI::ValidationError("--prompt-tokens", "'" + tok + "' is not a token id");
    ids.push_back(static_cast<int32_t>(v));
  }
  if (ids.empty()) throw CLI::ValidationError("--prompt-tokens", "no token ids given");
  return ids;
}

}  // namespace

int cmd_generate(int argc, char** argv) {
  CLI::App app{"Generate text with a Llama-family model (default: the bundled small model)", "cpplm generate"};
  CommonOptions o;
  std::string prompt, prompt_tokens, system;
  bool ignore_template = false, json = false;
  add_common_options(app, o, kGenerateMaxTokens);
  auto* p = app.add_option("--prompt,-p", prompt, "prompt text, or - to read stdin");
  auto* pt = app.add_option("--prompt-tokens", prompt_tokens, "prompt as comma-separated token ids (prints ids)");
  p->excludes(pt);
  app.add_option("--system", system,
                 "system message for the chat template (dropped, with a warning, when no template applies: "
                 "--ignore-chat-template, --prompt-tokens, or a model without one)");
  app.add_flag("--ignore-chat-template", ignore_template, "use the prompt as raw text");
  app.add_flag("--json", json, "print one JSON object: text, tokens, finish_reason, statistics");
  return run(app, argc, argv, [&]() {
    check_model_dir(o.model);
    if (prompt.empty() && prompt_tokens.empty())
      throw CLI::ValidationError("--prompt", "give a prompt with --prompt TEXT (or - for stdin) or --prompt-tokens IDS");
    const std::vector<int32_t> ids = prompt_tokens.empty() ? std::vector<int32_t>{} : parse_ids(prompt_tokens);
    if (prompt == "-") prompt.assign(std::istreambuf_iterator<char>(std::cin), {});

    o.load.on_warning = [](const std::string& w) { std::fprintf(stderr, "cpplm generate: warning: %s\n", w.c_str()); };
    if (!json) show_progress_on_terminal(o);
    auto engine = Engine::load(o.model, o.load);
    const bool token_mode = !ids.empty();
    std::vector<int32_t> input = ids;
    const bool templated = !token_mode && engine->has_chat_template() && !ignore_template;
    if (!system.empty() && !templated)
      std::fprintf(stderr, "cpplm generate: warning: --system is dropped (%s)\n",
                   token_mode        ? "--prompt-tokens is the whole prompt"
                   : ignore_template ? "--ignore-chat-template uses the prompt as raw text"
                                     : "the model has no chat template");
    if (!token_mode) {
      if (templated) {
        std::vector<Message> msgs;
        if (!system.empty()) msgs.push_back({"system", system});
        msgs.push_back({"user", prompt});
        const std::string rendered = engine->apply_chat_template(msgs, /*add_generation_prompt=*/true);
        if (o.verbose) std::fprintf(stderr, "==========\n%s\n==========\n", rendered.c_str());
        input = engine->encode(rendered, /*add_special_tokens=*/false);
      } else {
        input = engine->encode(prompt, /*add_special_tokens=*/true);
      }
    }
    auto stream = [&](const std::string& text) {
      if (!json && !token_mode) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
      }
      return true;
    };
    GenerationResult r = engine->generate_tokens(input, o.gen, stream);
    if (json) {
      nlohmann::json j = {{"text", r.text},
                          {"tokens", r.tokens},
                          {"finish_reason", r.finish_reason},
                          {"prompt_tokens", r.prompt_tokens},
                          {"prompt_tps", r.prompt_tps},
                          {"generation_tokens", r.generation_tokens},
                          {"generation_tps", r.generation_tps},
                          {"peak_memory_bytes", r.peak_memory_bytes},
                          {"device", engine->device()}};
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      if (token_mode)
        for (size_t i = 0; i < r.tokens.size(); ++i) std::printf("%s%d", i ? " " : "", r.tokens[i]);
      std::printf("\n");
      std::fflush(stdout);
      if (o.verbose) std::fprintf(stderr, "==========\n");
      print_stats(r);
    }
    return 0;
  });
}

}  // namespace cpplm::cli
