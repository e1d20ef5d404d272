// `cpplm chat`: an interactive conversation through the chat template, streaming replies.
// Reads one message per line: on a terminal with line editing and history (libedit), from a pipe
// plainly; /reset clears the conversation, /quit or Ctrl-D ends. Ctrl-C stops the current reply,
// not the program.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <stdexcept>

#include "cli_util.h"
#include "commands.h"
#include "gen_options.h"
#include "line_input.h"

namespace cpplm::cli {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }

}  // namespace

int cmd_chat(int argc, char** argv) {
  CLI::App app{"Chat with a model through its chat template", "cpplm chat"};
  CommonOptions o;
  std::string system;
  add_common_options(app, o, GenerationConfig{}.max_tokens);  // 256, as mlx_lm.chat
  app.add_option("--system", system, "system message");
  return run(app, argc, argv, [&]() {
    check_model_dir(o.model);
    o.load.on_warning = [](const std::string& w) { std::fprintf(stderr, "cpplm chat: warning: %s\n", w.c_str()); };
    show_progress_on_terminal(o);
    auto engine = Engine::load(o.model, o.load);
    if (!engine->has_chat_template())
      throw std::runtime_error(o.model + ": the tokenizer has no chat template (use cpplm generate)");
    const bool tty = isatty(STDIN_FILENO);
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, nullptr);  // no SA_RESTART: a blocked read returns, the reply stops

    std::vector<Message> conversation;
    auto reset = [&]() {
      conversation.clear();
      if (!system.empty()) conversation.push_back({"system", system});
      engine->reset();
    };
    reset();
    if (tty)
      std::fprintf(stderr, "[cpplm chat: %s on %s. /reset clears the history, /quit or Ctrl-D ends.]\n", o.model.c_str(),
                   engine->device().c_str());
    LineInput input("cpplm", tty, &g_interrupted);
    std::string line;
    while (true) {
      g_interrupted = 0;
      const LineInput::Read got = input.next(line);
      if (got == LineInput::Read::kInterrupted) {  // Ctrl-C at the prompt: a fresh prompt
        std::fputs("\n", stdout);
        continue;
      }
      if (got == LineInput::Read::kEnd) {  // Ctrl-D: end the prompt's line, exit 0
        if (tty) std::fputs("\n", stdout);
        break;
      }
      if (line == "/quit" || line == "/exit") break;
      if (line == "/reset") {
        reset();
        if (tty) std::fputs("[history cleared]\n", stderr);
        continue;
      }
      if (line.empty()) continue;
      conversation.push_back({"user", line});
      if (o.verbose)
        std::fprintf(stderr, "==========\n%s\n==========\n", engine->apply_chat_template(conversation, true).c_str());
      g_interrupted = 0;
      GenerationResult r = engine->chat(conversation, o.gen, [&](const std::string& text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return !g_interrupted;
      });
      std::fputs("\n", stdout);
      std::fflush(stdout);
      conversation.push_back({"assistant", r.text});
      if (o.verbose) print_stats(r);
    }
    return 0;
  });
}

}  // namespace cpplm::cli
