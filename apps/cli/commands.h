// Subcommands of the `cpplm` command line; each lives in apps/cli/cmd_<name>.cpp.
#pragma once

namespace cpplm::cli {

// Each returns the process exit code: 0 ok, 1 runtime failure, 2 usage error.
int cmd_generate(int argc, char** argv);
int cmd_cache_prompt(int argc, char** argv);  // (cmd_generate.cpp)
int cmd_tokenize(int argc, char** argv);
int cmd_detokenize(int argc, char** argv);
int cmd_chat(int argc, char** argv);
int cmd_perplexity(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_convert(int argc, char** argv);
int cmd_serve(int argc, char** argv);

}  // namespace cpplm::cli
