// Shared generate/chat options.
#include "gen_options.h"

#include <cstdio>

#include "cli_util.h"

namespace cpplm::cli {

void add_common_options(CLI::App& app, CommonOptions& o) {
  o.model = default_model_dir();
  o.gen.max_tokens = 100;
  app.add_option("--model,-m", o.model, "checkpoint folder (config.json, safetensors, tokenizer)")->capture_default_str();
  app.add_option("--device", o.load.device, "cpu, cuda or auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}))->capture_default_str();
  app.add_option("--threads,-t", o.load.threads, "CPU threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--max-tokens,-n", o.gen.max_tokens, "maximum tokens to generate")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--temp", o.gen.temp, "sampling temperature (0 = greedy)")->capture_default_str();
  app.add_option("--top-p", o.gen.top_p, "nucleus sampling: smallest set of tokens reaching this probability")->capture_default_str();
  app.add_option("--top-k", o.gen.top_k, "sample among the k most likely tokens (0 = off)")->capture_default_str();
  app.add_option("--min-p", o.gen.min_p, "drop tokens below min-p × the top probability (0 = off)")->capture_default_str();
  app.add_option("--repetition-penalty", o.gen.repetition_penalty, "penalty for recent tokens (1 = off)")->capture_default_str();
  app.add_option("--repetition-context-size", o.gen.repetition_context_size, "tokens the penalty looks back over")->capture_default_str();
  app.add_option("--seed", o.gen.seed, "random seed for sampling")->capture_default_str();
  app.add_option("--stop", o.gen.stop, "stop string (repeatable); not printed");
  app.add_option("--max-kv-size", o.gen.max_kv_size, "bound the KV cache to this many tokens (rotating)")->check(CLI::PositiveNumber);
  app.add_option("--kv-bits", o.gen.kv_bits, "KV cache storage: 8 (8-bit codes), 16, 32 (f32); 0 = the model's dtype")
      ->check(CLI::IsMember({0, 8, 16, 32}))
      ->capture_default_str();
  app.add_option("--chat-template", o.load.chat_template,
                 "use this chat template instead of the model's (a .jinja file or a tokenizer folder)");
  app.add_flag("--verbose,-v", o.verbose, "print the prompt and statistics");
}

void validate_common_options(const CommonOptions& o) {
  const GenerationConfig& g = o.gen;
  if (!(g.temp >= 0)) throw CLI::ValidationError("--temp", "must be >= 0, got " + std::to_string(g.temp));
  if (!(g.top_p > 0 && g.top_p <= 1)) throw CLI::ValidationError("--top-p", "must be in (0, 1], got " + std::to_string(g.top_p));
  if (g.top_k < 0) throw CLI::ValidationError("--top-k", "must be >= 0, got " + std::to_string(g.top_k));
  if (!(g.min_p >= 0 && g.min_p <= 1)) throw CLI::ValidationError("--min-p", "must be in [0, 1], got " + std::to_string(g.min_p));
  if (!(g.repetition_penalty > 0))
    throw CLI::ValidationError("--repetition-penalty", "must be > 0, got " + std::to_string(g.repetition_penalty));
  if (g.repetition_context_size < 0)
    throw CLI::ValidationError("--repetition-context-size", "must be >= 0, got " + std::to_string(g.repetition_context_size));
}

void print_stats(const GenerationResult& r) {
  std::fprintf(stderr, "Prompt: %d tokens, %.3f tokens-per-sec\nGeneration: %d tokens, %.3f tokens-per-sec\nPeak memory: %.3f GB\n",
               r.prompt_tokens, r.prompt_tps, r.generation_tokens, r.generation_tps, r.peak_memory_bytes / 1e9);
}

}  // namespace cpplm::cli
