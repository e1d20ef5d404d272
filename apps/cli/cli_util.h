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
// Nothing is printed on stdout on failure. Adds --version (prints "cpplm VERSION", returns 0).
int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

// A usage error (exit 2) unless `dir` is a folder with config.json.
void check_model_dir(const std::string& dir, bool allow_gguf = true);
// True for a file that starts with GGUF's magic (llama.cpp's single-file models).
bool is_gguf_path(const std::string& path);

// Sets the number of CPU threads (0 = all cores).
void set_threads(int n);

// Validators whose messages name the range in plain numbers ("--top-k: must be an integer from 0
// to 2147483647, got '-1'"). int_range: an integer in [lo, hi].
CLI::Validator int_range(long long lo, long long hi);
// A finite number (inf and nan are refused as such) in [lo, hi], or (lo, hi] when lo_open; an
// infinite hi means no upper bound.
CLI::Validator real_range(double lo, double hi, bool lo_open = false);
// A seed: an integer from 0 to 2^64-1 (a negative one is refused, not wrapped).
CLI::Validator seed_range();

// Adds -t/--threads (0 = all cores). More threads than this machine has cores are accepted with a
// one-line warning on stderr.
CLI::Option* add_threads_option(CLI::App& app, int& threads);

}  // namespace cpplm::cli
