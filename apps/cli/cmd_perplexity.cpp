// `cpplm perplexity`: perplexity of a text file in non-overlapping windows, each starting with BOS.
#include <unistd.h>

#include <cstdio>

#include "api/tools.h"
#include "cli_util.h"
#include "commands.h"
#include "cpplm/cpplm.h"

namespace cpplm::cli {

int cmd_perplexity(int argc, char** argv) {
  CLI::App app{"Perplexity of a text under a model", "cpplm perplexity"};
  std::string model = default_model_dir(), file, device = "auto";
  int context = 512, threads = 0;
  bool json = false;
  app.add_option("--model,-m", model, "checkpoint folder")->capture_default_str();
  app.add_option("--file,-f", file, "text file")->required();
  app.add_option("--context,-c", context, "window length in tokens (BOS included)")->check(CLI::Range(2, 1 << 20))->capture_default_str();
  app.add_option("--device", device, "cpu, cuda or auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app.add_option("--threads,-t", threads, "CPU threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  app.add_flag("--json", json, "print one JSON object");
  return run(app, argc, argv, [&]() {
    check_model_dir(model);
    const std::string text = tools::read_text_file(file);
    LoadOptions lo;
    lo.device = device;
    lo.threads = threads;
    auto engine = Engine::load(model, lo);
    const bool tty = isatty(STDERR_FILENO);
    PerplexityStats r = engine->perplexity(text, context, [&](int done, int total) {
      if (tty) std::fprintf(stderr, "\r[%d/%d windows]", done, total);
      else if (done == total || done % 10 == 0) std::fprintf(stderr, "[%d/%d windows]\n", done, total);
    });
    if (tty) std::fputs("\n", stderr);
    if (json)
      std::printf("{\"perplexity\": %.6f, \"mean_nll\": %.6f, \"tokens_scored\": %d, \"windows\": %d, \"context\": %d}\n",
                  r.perplexity, r.mean_nll, r.tokens_scored, r.windows, context);
    else
      std::printf("perplexity %.4f over %d tokens (%d windows of %d)\n", r.perplexity, r.tokens_scored, r.windows, context);
    return 0;
  });
}

}  // namespace cpplm::cli
