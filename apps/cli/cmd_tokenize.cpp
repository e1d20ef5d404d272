// `cpplm tokenize` and `cpplm detokenize` (placeholder until the tokenizer lands).
#include <cstdio>

#include "commands.h"

namespace cpplm::cli {

int cmd_tokenize(int, char**) {
  std::fprintf(stderr, "cpplm tokenize: not built yet\n");
  return 1;
}

int cmd_detokenize(int, char**) {
  std::fprintf(stderr, "cpplm detokenize: not built yet\n");
  return 1;
}

}  // namespace cpplm::cli
