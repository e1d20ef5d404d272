// `cpplm generate` (placeholder, filled in below).
#include "commands.h"
namespace cpplm::cli {
int cmd_generate(int, char**) { return 1; }
}
