// Running the built `cpplm` in the command-line tests: exit code, stdout and stderr of one call.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/file_io.h"

namespace cli_test {

inline const std::string kModel = std::string(CPPLM_MODELS_DIR) + "/llama-6m-kjv-fortunes";  // max_position_embeddings 1024

struct Result {
  int code;
  std::string out, err;
};

inline bool has(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

// `s` as one shell word.
inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `cpplm ARGS` (shell syntax) with optional stdin text; captures stdout, stderr and the exit
// code, and leaves nothing in the temp dir.
inline Result run_cpplm(const std::string& args, const std::string& stdin_text = "") {
  static int calls = 0;
  const std::string base = ::testing::TempDir() + "cpplm_run_" + std::to_string(::getpid()) + "_" + std::to_string(++calls);
  std::ofstream(base + ".in", std::ios::binary) << stdin_text;
  const std::string cmd = std::string(CPPLM_CLI) + " " + args + " <" + base + ".in >" + base + ".out 2>" + base + ".err";
  const int status = std::system(cmd.c_str());
  Result r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, ::cpplm::read_file(base + ".out"), ::cpplm::read_file(base + ".err")};
  for (const char* ext : {".in", ".out", ".err"}) std::remove((base + ext).c_str());
  return r;
}

}  // namespace cli_test
