// Implementation of the shared command-line plumbing.
#include "cli_util.h"

#include <cstdlib>
#include <filesystem>
#include <exception>

#include "api/tools.h"

namespace cpplm::cli {

std::string default_model_dir() {
  if (const char* env = std::getenv("CPPLM_MODEL")) return env;
#ifdef CPPLM_DEFAULT_MODEL
  return CPPLM_DEFAULT_MODEL;
#else
  return "models/llama-6m-kjv-fortunes";
#endif
}

int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  const std::string name = app.get_name();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    std::fprintf(stderr, "%s: %s (see '%s --help')\n", name.c_str(), msg.c_str(), name.c_str());
    return 2;
  }
  try {
    return body();
  } catch (const CLI::ValidationError& e) {
    std::fprintf(stderr, "%s: %s (see '%s --help')\n", name.c_str(), e.what(), name.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
    return 1;
  }
}

void check_model_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw CLI::ValidationError("--model", dir + ": no such model folder");
  if (!fs::exists(fs::path(dir) / "config.json"))
    throw CLI::ValidationError("--model", dir + ": not a checkpoint folder (no config.json)");
}

void set_threads(int n) { tools::set_threads(n); }

}  // namespace cpplm::cli
