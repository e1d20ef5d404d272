// `cpplm generate`: greedy or sampled generation from token ids (text prompts: see generate_text.cpp).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_util.h"
#include "commands.h"
#include "core/error.h"
#include "runtime/cpu_model.h"
#include "runtime/generate.h"

namespace cpplm::cli {
namespace {

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::string tok;
  std::stringstream ss(s);
  while (std::getline(ss, tok, ',')) {
    size_t pos = 0;
    long v = 0;
    try {
      v = std::stol(tok, &pos);
    } catch (...) {
      pos = 0;
    }
    if (pos == 0 || tok.find_first_not_of(" \t", pos) != std::string::npos || v < 0 || v > INT32_MAX)
      throw CLI::ValidationError("--prompt-tokens", "'" + tok + "' is not a token id");
    ids.push_back(static_cast<int32_t>(v));
  }
  if (ids.empty()) throw CLI::ValidationError("--prompt-tokens", "no token ids given");
  return ids;
}

}  // namespace

int cmd_generate(int argc, char** argv) {
  CLI::App app{"Generate tokens with a Llama-family model", "cpplm generate"};
  std::string model_dir = default_model_dir(), prompt_tokens;
  GenerateOptions opts;
  opts.max_tokens = 256;
  bool json = false;
  int threads = 0;
  app.add_option("--model,-m", model_dir, "checkpoint folder (config.json + safetensors)")->capture_default_str();
  app.add_option("--prompt-tokens", prompt_tokens, "prompt as comma-separated token ids")->required();
  app.add_option("--max-tokens,-n", opts.max_tokens, "tokens to generate")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--temp", opts.sampling.temp, "sampling temperature (0 = greedy)")->capture_default_str();
  app.add_option("--seed", opts.sampling.seed, "random seed");
  app.add_option("--max-kv-size", opts.max_kv_size, "bound the KV cache (rotating)")->check(CLI::PositiveNumber);
  app.add_option("--threads,-t", threads, "CPU threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  app.add_flag("--json", json, "print one JSON object");
  return run(app, argc, argv, [&]() {
    const std::vector<int32_t> prompt = parse_ids(prompt_tokens);
    validate(opts.sampling);
    set_threads(threads);
    auto model = std::make_unique<CpuModel>(Model::load(model_dir));
    opts.eos_ids = model->args().eos_token_ids;
    Session session;
    auto out = generate(*model, session, prompt, opts, [&](int32_t t) {
      if (!json) {
        std::printf("%d ", t);
        std::fflush(stdout);
      }
      return true;
    });
    if (json) {
      nlohmann::json j = {{"tokens", out.tokens},
                          {"finish_reason", finish_reason_name(out.finish)},
                          {"prompt_tokens", out.stats.prompt_tokens},
                          {"prompt_tps", out.stats.prompt_tps()},
                          {"generation_tokens", out.stats.generated_tokens},
                          {"generation_tps", out.stats.generation_tps()},
                          {"peak_memory_bytes", out.stats.peak_rss_bytes}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("\n");
      std::fprintf(stderr, "prompt: %d tokens, %.1f tokens/s; generation: %d tokens, %.1f tokens/s; peak memory %.1f MB\n",
                   out.stats.prompt_tokens, out.stats.prompt_tps(), out.stats.generated_tokens, out.stats.generation_tps(),
                   out.stats.peak_rss_bytes / 1e6);
    }
    return 0;
  });
}

}  // namespace cpplm::cli
