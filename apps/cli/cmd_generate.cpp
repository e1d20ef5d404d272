// `cpplm generate`: text (or token ids) in, streamed text out, with mlx-lm's options.
#include <cstdio>
#include <cstring>
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

// The prompt's token ids (--prompt-tokens; none for text), after reading --prompt - from stdin.
std::vector<int32_t> read_prompt(std::string& prompt, const std::string& prompt_tokens) {
  if (prompt.empty() && prompt_tokens.empty())
    throw CLI::ValidationError("--prompt", "give a prompt with --prompt TEXT (or - for stdin) or --prompt-tokens IDS");
  const std::vector<int32_t> ids = prompt_tokens.empty() ? std::vector<int32_t>{} : parse_ids(prompt_tokens);
  if (prompt == "-") prompt.assign(std::istreambuf_iterator<char>(std::cin), {});
  return ids;
}

// Marks where a prompt cache ends in a rendered chat template: a cached prompt is the rendering up
// to the end of the user's text (mlx-lm's continue_final_message), and a prompt that continues it
// is the rendering from the start of the user's text.
constexpr const char* kCut = "[[cpplm:prompt-cache]]";

enum class Part { kWhole, kHead, kTail };  // the whole prompt, a cached head, or what continues one

// The prompt's tokens for `part`: token ids as given, the chat template's rendering of the user
// prompt (and the system message, not in a tail), or raw text (special tokens in a whole or head).
std::vector<int32_t> prompt_ids(Engine& engine, const std::string& prompt, const std::vector<int32_t>& ids,
                                const std::string& system, bool templated, bool verbose, Part part) {
  if (!ids.empty()) return ids;
  if (!templated) return engine.encode(prompt, /*add_special_tokens=*/part != Part::kTail);
  std::vector<Message> msgs;
  if (!system.empty() && part != Part::kTail) msgs.push_back({"system", system});
  msgs.push_back({"user", part == Part::kHead ? prompt + kCut : part == Part::kTail ? kCut + prompt : prompt});
  std::string rendered = engine.apply_chat_template(msgs, /*add_generation_prompt=*/true);
  if (part != Part::kWhole) {
    const size_t at = rendered.find(kCut);
    if (at == std::string::npos)
      throw std::runtime_error("the chat template dropped the user's text: no prompt cache can split it");
    rendered = part == Part::kHead ? rendered.substr(0, at) : rendered.substr(at + std::strlen(kCut));
  }
  if (verbose) std::fprintf(stderr, "==========\n%s\n==========\n", rendered.c_str());
  return engine.encode(rendered, /*add_special_tokens=*/false);
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
  std::string cache_file;
  app.add_option("--prompt-cache-file", cache_file,
                 "start from a prompt cached by `cpplm cache-prompt`: the prompt continues it (with a chat template: "
                 "the same user message)");
  return run(app, argc, argv, [&]() {
    check_model_dir(o.model);
    const std::vector<int32_t> ids = read_prompt(prompt, prompt_tokens);

    o.load.on_warning = [](const std::string& w) { std::fprintf(stderr, "cpplm generate: warning: %s\n", w.c_str()); };
    if (!json) show_progress_on_terminal(o);
    auto engine = Engine::load(o.model, o.load);
    const bool token_mode = !ids.empty();
    const bool templated = !token_mode && engine->has_chat_template() && !ignore_template;
    if (!system.empty() && (!templated || !cache_file.empty()))
      std::fprintf(stderr, "cpplm generate: warning: --system is dropped (%s)\n",
                   token_mode            ? "--prompt-tokens is the whole prompt"
                   : ignore_template     ? "--ignore-chat-template uses the prompt as raw text"
                   : !cache_file.empty() ? "the prompt cache holds the start of the conversation"
                                         : "the model has no chat template");
    std::vector<int32_t> input;
    if (!cache_file.empty()) {
      input = engine->prompt_cache_tokens(cache_file);
      const std::vector<int32_t> tail = prompt_ids(*engine, prompt, ids, system, templated, o.verbose, Part::kTail);
      input.insert(input.end(), tail.begin(), tail.end());
    } else {
      input = prompt_ids(*engine, prompt, ids, system, templated, o.verbose, Part::kWhole);
    }
    auto stream = [&](const std::string& text) {
      if (!json && !token_mode) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
      }
      return true;
    };
    GenerationResult r = cache_file.empty() ? engine->generate_tokens(input, o.gen, stream)
                                            : engine->generate_from_prompt_cache(cache_file, input, o.gen, stream);
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

namespace cpplm::cli {

int cmd_cache_prompt(int argc, char** argv) {
  CLI::App app{
      "Run a prompt and save its K/V cache to a file that `cpplm generate --prompt-cache-file` starts from (mlx-lm's "
      "cache_prompt)",
      "cpplm cache-prompt"};
  CommonOptions o;
  std::string prompt, prompt_tokens, system, cache_file;
  bool ignore_template = false;
  add_common_options(app, o, kGenerateMaxTokens);
  auto* p = app.add_option("--prompt,-p", prompt, "prompt text, or - to read stdin");
  auto* pt = app.add_option("--prompt-tokens", prompt_tokens, "prompt as comma-separated token ids");
  p->excludes(pt);
  app.add_option("--system", system, "system message for the chat template");
  app.add_flag("--ignore-chat-template", ignore_template, "use the prompt as raw text");
  app.add_option("--prompt-cache-file", cache_file, "the file to write (safetensors)")->required();
  return run(app, argc, argv, [&]() {
    check_model_dir(o.model);
    const std::vector<int32_t> ids = read_prompt(prompt, prompt_tokens);
    o.load.on_warning = [](const std::string& w) { std::fprintf(stderr, "cpplm cache-prompt: warning: %s\n", w.c_str()); };
    show_progress_on_terminal(o);
    auto engine = Engine::load(o.model, o.load);
    const bool templated = ids.empty() && engine->has_chat_template() && !ignore_template;
    const std::vector<int32_t> input = prompt_ids(*engine, prompt, ids, system, templated, o.verbose, Part::kHead);
    engine->save_prompt_cache(cache_file, input, o.gen);
    std::fprintf(stderr, "Saved the K/V of %zu prompt tokens to %s\n", input.size(), cache_file.c_str());
    return 0;
  });
}

}  // namespace cpplm::cli
