// Shared command-line plumbing: parsing with one-line errors (exit 2), runtime errors (exit 1).
#pragma once
#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <string>

namespace cpplm::cli {

// The bundled model folder: the default --model of every command.
std::string default_model_dir();

// Parses argv into `app` and runs `body`. Usage errors print one line and a hint on stderr and
// return 2; cpplm::Error and other exceptions print "cpplm <cmd>: message" and return 1.
// Nothing is printed on stdout on failure.
int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

// A usage error (exit 2) unless `dir` is a folder with config.json.
void check_model_dir(const std::string& dir);

// Sets the number of CPU threads (0 = all cores).
void set_threads(int n);

}  // namespace cpplm::cli
