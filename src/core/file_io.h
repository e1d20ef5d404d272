// Whole-file reads: the one reader of configs, tokenizer files, templates and other small files.
#pragma once
#include <string>

namespace cpplm {

// The bytes of the file at `path`. Throws Error naming the path when it does not exist, is a
// directory, or cannot be opened or read.
std::string read_file(const std::string& path);

}  // namespace cpplm
