// Command-line options shared by generate and chat: sampling, stops, cache, device.
#pragma once
#include <CLI/CLI.hpp>

#include "cpplm/cpplm.h"

namespace cpplm::cli {

struct CommonOptions {
  std::string model;
  LoadOptions load;
  GenerationConfig gen;
  bool verbose = false;
};

// Adds --model, --device, --threads and the sampling/stop/cache options (mlx-lm's names), each
// checked by the parser (ranges, finite numbers); --max-tokens defaults to `default_max_tokens`,
// which the help shows.
void add_common_options(CLI::App& app, CommonOptions& o, int default_max_tokens);
// When stderr is a terminal: a progress line there while weights go to the GPU and while a long
// prompt is prefilled (erased when done); nothing when stderr is piped.
void show_progress_on_terminal(CommonOptions& o);
// "Prompt: 5 tokens, 512.3 tokens-per-sec" ... on stderr, as mlx-lm reports.
void print_stats(const GenerationResult& r);

}  // namespace cpplm::cli
