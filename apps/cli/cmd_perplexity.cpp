// `cpplm perplexity`: perplexity of a text file in non-overlapping windows, each starting with BOS.
// A --context past the model's context length is refused unless --allow-long-context (then warned).
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
  bool json = false, allow_long = false;
  app.add_option("--model,-m", model, "checkpoint folder or GGUF file")->capture_default_str();
  app.add_option("--file,-f", file, "text file")->required();
  app.add_option("--context,-c", context, "window length in tokens (BOS included)")
      ->check(int_range(2, 1 << 20))
      ->capture_default_str();
  app.add_flag("--allow-long-context", allow_long,
               "run a --context longer than the model's context length (max_position_embeddings), with a warning");
  app.add_option("--device", device, "cpu, cuda or auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  add_threads_option(app, threads);
  app.add_flag("--json", json, "print one JSON object");
  return run(app, argc, argv, [&]() {
    check_model_dir(model);
    const std::string text = tools::read_text_file(file);
    LoadOptions lo;
    lo.device = device;
    lo.threads = threads;
    lo.on_warning = [](const std::string& w) { std::fprintf(stderr, "cpplm perplexity: warning: %s\n", w.c_str()); };
    auto engine = Engine::load(model, lo);
    if (const int limit = engine->context_length(); limit > 0 && context > limit && !allow_long) {
      const std::string n = std::to_string(limit), max_pos = std::to_string(engine->max_position_embeddings());
      throw CLI::ValidationError("--context", std::to_string(context) + " exceeds the model's " +
                                                  (n == max_pos ? "max_position_embeddings (" + n + ")"
                                                                : "context length (" + n + ": max_position_embeddings " +
                                                                      max_pos + " stretched by its rope_scaling)") +
                                                  "; give --allow-long-context to run it anyway (quality degrades past it)");
    }
    const bool tty = isatty(STDERR_FILENO);
    PerplexityStats r = engine->perplexity(text, context, [&](int done, int total) {
      if (tty) std::fprintf(stderr, "\r[%d/%d windows]", done, total);
      else if (done == total || done % 10 == 0) std::fprintf(stderr, "[%d/%d windows]\n", done, total);
    });
    if (tty) std::fputs("\n", stderr);
    if (json)
      std::printf("{\"perplexity\": %.6f, \"mean_nll\": %.6f, \"tokens_scored\": %d, \"windows\": %d, \"context\": %d}\n",
                  r.perplexity, r.mean_nll, r.tokens_scored, r.windows, context);
    else std::printf("perplexity %.4f over %d tokens (%d windows of %d)\n", r.perplexity, r.tokens_scored, r.windows, context);
    return 0;
  });
}

}  // namespace cpplm::cli
