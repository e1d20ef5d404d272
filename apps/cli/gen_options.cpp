// Shared generate/chat options.
#include "gen_options.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <limits>

#include "cli_util.h"

namespace cpplm::cli {
namespace {

constexpr long long kMaxTokens = 1 << 24;
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

void add_common_options(CLI::App& app, CommonOptions& o, int default_max_tokens) {
  o.model = default_model_dir();
  o.gen.max_tokens = default_max_tokens;
  app.add_option("--model,-m", o.model, "checkpoint folder (config.json, safetensors, tokenizer) or GGUF file")
      ->capture_default_str();
  app.add_option("--device", o.load.device, "cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
  add_threads_option(app, o.load.threads);
  app.add_option("--max-tokens,-n", o.gen.max_tokens, "maximum tokens to generate")
      ->check(int_range(0, kMaxTokens))
      ->capture_default_str();
  app.add_option("--temp", o.gen.temp, "sampling temperature (0 = greedy)")->check(real_range(0, kInf))->capture_default_str();
  app.add_option("--top-p", o.gen.top_p, "nucleus sampling: smallest set of tokens reaching this probability (1 = off)")
      ->check(real_range(0, 1, /*lo_open=*/true))
      ->capture_default_str();
  app.add_option("--top-k", o.gen.top_k, "sample among the k most likely tokens (0 = off)")
      ->check(int_range(0, INT32_MAX))
      ->capture_default_str();
  app.add_option("--min-p", o.gen.min_p, "drop tokens below min-p × the top probability (0 = off)")
      ->check(real_range(0, 1))
      ->capture_default_str();
  app.add_option("--repetition-penalty", o.gen.repetition_penalty, "penalty for recent tokens (1 = off)")
      ->check(real_range(0, kInf, /*lo_open=*/true))
      ->capture_default_str();
  app.add_option("--repetition-context-size", o.gen.repetition_context_size, "tokens the penalty looks back over")
      ->check(int_range(0, kMaxTokens))
      ->capture_default_str();
  app.add_option("--seed", o.gen.seed,
                 "random seed for sampling: an integer from 0 to 2^64-1 (negative is an error); the same seed and options give "
                 "the same text")
      ->check(seed_range())
      ->capture_default_str();
  app.add_option("--stop", o.gen.stop, "stop string (repeatable); not printed");
  app.add_option("--max-kv-size", o.gen.max_kv_size, "bound the KV cache to this many tokens (rotating; default: unbounded)")
      ->check(int_range(1, INT32_MAX));
  app.add_option("--kv-bits", o.gen.kv_bits, "KV cache storage: 8 (8-bit codes), 16, 32 (f32); 0 = the model's dtype")
      ->check(CLI::IsMember({0, 8, 16, 32}))
      ->capture_default_str();
  app.add_option("--chat-template", o.load.chat_template,
                 "use this chat template instead of the model's (a .jinja file or a tokenizer folder)");
  app.add_flag("--verbose,-v", o.verbose, "print the prompt and statistics");
}

void print_stats(const GenerationResult& r) {
  std::fprintf(stderr,
               "Prompt: %d tokens, %.3f tokens-per-sec\nGeneration: %d tokens, %.3f tokens-per-sec\nPeak memory: %.3f GB\n",
               r.prompt_tokens, r.prompt_tps, r.generation_tokens, r.generation_tps, r.peak_memory_bytes / 1e9);
}

void show_progress_on_terminal(CommonOptions& o) {
  if (!isatty(STDERR_FILENO)) return;
  o.load.on_progress = [](const std::string& what, size_t done, size_t total) {
    std::fprintf(stderr, "\r[%s: %.0f / %.0f MiB]", what.c_str(), done / 1048576.0, total / 1048576.0);
    if (done >= total) std::fputs("\r\033[K", stderr);
  };
  o.gen.on_prefill_progress = [](int done, int total) {
    std::fprintf(stderr, "\r[prompt: %d / %d tokens]", done, total);
    if (done >= total) std::fputs("\r\033[K", stderr);
  };
}

}  // namespace cpplm::cli
