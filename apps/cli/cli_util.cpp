// Implementation of the shared command-line plumbing.
#include "cli_util.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <thread>

#include "api/tools.h"
#include "cpplm/cpplm.h"

namespace cpplm::cli {
namespace {

constexpr int kMaxThreads = 1024;

std::string number(double x) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", x);
  return b;
}

}  // namespace

std::string default_model_dir() { return tools::bundled_model_dir(); }

int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  const std::string name = app.get_name();
  app.set_version_flag("--version", std::string("cpplm ") + version(), "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    std::printf("%s\n", e.what());
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

bool is_gguf_path(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in && in.read(magic, 4) && std::string_view(magic, 4) == "GGUF";
}

void check_model_dir(const std::string& dir, bool allow_gguf) {
  namespace fs = std::filesystem;
  if (allow_gguf && fs::is_regular_file(dir) && is_gguf_path(dir)) return;
  if (fs::exists(dir) && !fs::is_directory(dir))
    throw CLI::ValidationError("--model",
                               dir + (allow_gguf ? ": not a folder or a GGUF file (give the checkpoint's folder or a .gguf file)"
                                                 : ": not a folder (give the checkpoint's folder)"));
  if (!fs::is_directory(dir)) throw CLI::ValidationError("--model", dir + ": no such model folder");
  if (!fs::exists(fs::path(dir) / "config.json"))
    throw CLI::ValidationError("--model", dir + ": not a checkpoint folder (no config.json)");
}

void set_threads(int n) { tools::set_threads(n); }

CLI::Validator int_range(long long lo, long long hi) {
  const std::string range = "from " + std::to_string(lo) + " to " + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& s) -> std::string {
        errno = 0;
        char* end = nullptr;
        const long long v = std::strtoll(s.c_str(), &end, 10);
        if (s.empty() || *end != '\0' || errno == ERANGE || v < lo || v > hi)
          return "must be an integer " + range + ", got '" + s + "'";
        s = std::to_string(v);  // what was checked is what the parser reads (it takes 010 as octal)
        return {};
      },
      "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

CLI::Validator real_range(double lo, double hi, bool lo_open) {
  const std::string low = (lo_open ? "> " : ">= ") + number(lo);
  const std::string range = std::isinf(hi) ? low
                            : lo_open      ? low + " and <= " + number(hi)
                                           : "from " + number(lo) + " to " + number(hi);
  const std::string desc = std::isinf(hi) ? low : (lo_open ? "(" : "[") + number(lo) + ", " + number(hi) + "]";
  return CLI::Validator(
      [lo, hi, lo_open, range](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0') return "must be a number " + range + ", got '" + s + "'";
        if (!std::isfinite(v)) return "must be a finite number, got '" + s + "'";
        if (v < lo || (lo_open && v == lo) || v > hi) return "must be a number " + range + ", got '" + s + "'";
        return {};
      },
      desc);
}

CLI::Validator seed_range() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        errno = 0;
        char* end = nullptr;
        const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
        if (s.empty() || s.find('-') != std::string::npos || *end != '\0' || errno == ERANGE)
          return "must be an integer from 0 to 18446744073709551615, got '" + s + "'";
        s = std::to_string(v);
        return {};
      },
      "[0, 2^64-1]");
}

CLI::Option* add_threads_option(CLI::App& app, int& threads) {
  const std::string name = app.get_name();
  CLI::Validator warn(
      [name](std::string& s) -> std::string {
        const unsigned cores = std::thread::hardware_concurrency();
        if (cores > 0 && std::strtoll(s.c_str(), nullptr, 10) > static_cast<long long>(cores))
          std::fprintf(stderr, "%s: warning: --threads %s is more than the %u cores of this machine (usually slower)\n",
                       name.c_str(), s.c_str(), cores);
        return {};
      },
      "");
  return app.add_option("--threads,-t", threads, "CPU threads (0 = all cores)")
      ->check(int_range(0, kMaxThreads))
      ->check(warn)
      ->capture_default_str();
}

}  // namespace cpplm::cli
