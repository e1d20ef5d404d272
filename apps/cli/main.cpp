// Entry point of the `cpplm` command line: dispatches to subcommands.
#include <cstdio>
#include <cstring>
#include <string>

#include "commands.h"
#include "cpplm/cpplm.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* help;
};

const Command kCommands[] = {
    {"generate", cpplm::cli::cmd_generate, "generate text (or token ids) with a model"},
    {"cache-prompt", cpplm::cli::cmd_cache_prompt, "run a prompt and save its K/V for `generate --prompt-cache-file`"},
    {"chat", cpplm::cli::cmd_chat, "chat interactively (one message per line on stdin)"},
    {"perplexity", cpplm::cli::cmd_perplexity, "perplexity of a text file"},
    {"tokenize", cpplm::cli::cmd_tokenize, "print the token ids of a text"},
    {"detokenize", cpplm::cli::cmd_detokenize, "print the text of token ids"},
    {"serve", cpplm::cli::cmd_serve, "OpenAI-compatible HTTP server (many clients, continuous batching)"},
    {"bench", cpplm::cli::cmd_bench, "throughput benchmark (pp/tg, llama-bench style)"},
    {"convert", cpplm::cli::cmd_convert, "cast or mlx-quantize a checkpoint"},
};

void usage(FILE* f) {
  std::fprintf(f, "usage: cpplm <command> [options]   (cpplm <command> --help for details; cpplm --version)\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(f, "  %-12s %s\n", c.name, c.help);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    usage(stdout);
    return 0;
  }
  if (name == "--version") {
    std::printf("cpplm %s\n", cpplm::version());
    return 0;
  }
  for (const Command& c : kCommands) {
    if (name == c.name) return c.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "cpplm: unknown command '%s' (see 'cpplm --help')\n", name.c_str());
  return 2;
}
