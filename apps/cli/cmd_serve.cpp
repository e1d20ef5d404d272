// `cpplm serve`: an OpenAI-compatible HTTP server (chat and text completions, streaming, metrics).
#include <cctype>
#include <cstdio>
#include <ctime>

#include "api/tools.h"
#include "cli_util.h"
#include "commands.h"

namespace cpplm::cli {
namespace {

// "4GiB", "512MiB", "1.5G", "800M", "123456" (bytes).
size_t parse_bytes(const std::string& s) {
  size_t pos = 0;
  double v = -1;
  try {
    v = std::stod(s, &pos);
  } catch (const std::exception&) {}
  std::string unit = s.substr(pos);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double mult = 0;
  if (unit.empty() || unit == "b") mult = 1;
  if (unit == "k" || unit == "kb" || unit == "kib") mult = 1024.0;
  if (unit == "m" || unit == "mb" || unit == "mib") mult = 1024.0 * 1024;
  if (unit == "g" || unit == "gb" || unit == "gib") mult = 1024.0 * 1024 * 1024;
  if (v <= 0 || mult == 0 || v * mult > 1e15)
    throw CLI::ValidationError("--kv-memory", "'" + s + "' is not a size (e.g. 4GiB, 512MiB or bytes)");
  return static_cast<size_t>(v * mult);
}

void log_line(const std::string& line) {
  char ts[32];
  const std::time_t t = std::time(nullptr);
  std::strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  std::fprintf(stderr, "%s cpplm serve: %s\n", ts, line.c_str());
  std::fflush(stderr);
}

}  // namespace

int cmd_serve(int argc, char** argv) {
  CLI::App app{
      "cpplm serve: an OpenAI-compatible server (POST /v1/chat/completions, /v1/completions; GET /v1/models,\n"
      "/health, /metrics; POST /tokenize, /detokenize). Many clients share the model through continuous batching.\n"
      "Stops on SIGINT/SIGTERM after letting running requests finish."};
  tools::ServeRequest r;
  r.model.model_dir = default_model_dir();
  r.model.device = "auto";
  std::string kv_memory;
  int threads = 0;
  app.add_option("-m,--model", r.model.model_dir, "checkpoint folder or GGUF file (default: the bundled model)");
  app.add_option("--device", r.model.device, "cpu, cuda or auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app.add_option("--host", r.host, "address to listen on (default 127.0.0.1: this machine only)");
  app.add_option("--port", r.port, "port (0: any free port; the startup line names it)")->check(int_range(0, 65535));
  app.add_option("--api-key", r.api_key, "require 'Authorization: Bearer KEY' on every endpoint but /health");
  app.add_option("--max-concurrent", r.max_concurrent, "sequences prefilling or decoding at once")->check(int_range(1, 4096));
  app.add_option("--max-queue", r.max_queue, "requests waiting beyond those; more get 429")->check(int_range(0, 1000000));
  app.add_option("-c,--ctx-size", r.ctx_size, "positions per request, prompt + generated (default: the model's, at most 4096)")
      ->check(int_range(1, 1 << 24));
  app.add_option("--kv-memory", kv_memory, "K/V cache budget, e.g. 4GiB (default: max-concurrent x ctx-size positions)");
  app.add_option("--kv-bits", r.model.kv_bits, "K/V cache storage: 0 = the model's dtype, 8 (8-bit codes), 16, 32")
      ->check(CLI::IsMember({0, 8, 16, 32}));
  app.add_option("--decode-batch-rows", r.model.decode_batch_rows,
                 "GPU: rows of the batched decode step that concurrent requests share (default: --max-concurrent "
                 "rounded up to a multiple of 8, at most 128, or 0 with --max-concurrent 1; every step runs all its "
                 "rows; 0: requests decode one by one, as `generate` does)")
      ->check(CLI::Range(0, 4096));
  app.add_option("--chat-template", r.chat_template, "a .jinja file, or a folder whose tokenizer_config.json holds one");
  app.add_option("--prefill-chunk", r.prefill_chunk,
                 "prompt tokens per forward pass of one request (default 256; 512 on a GPU with --max-concurrent above 32)")
      ->check(int_range(1, 1 << 16));
  app.add_option("--prefill-budget", r.prefill_budget,
                 "prompt tokens prefilled per step over all requests (0: 8 chunks on a GPU, 2 on the CPU)")
      ->check(int_range(0, 1 << 20));
  app.add_flag("!--no-prefix-cache", r.prefix_cache, "do not reuse the K/V of earlier requests' prompts");
  app.add_option("--kv-block-size", r.kv_block_size,
                 "positions per block of the paged K/V pool (prompts reuse cached K/V in whole --prefill-chunk "
                 "chunks of them); 0: one allocation per sequence")
      ->check(int_range(0, 4096));
  app.add_option("--timeout", r.timeout_s, "seconds a silent client may hold a connection")->check(int_range(1, 3600));
  add_threads_option(app, threads);
  app.add_option("--shape", r.model.shape, "serve random weights of a published shape (benchmarks; needs --tokenizer)");
  app.add_option("--dtype", r.model.dtype,
                 "dtype of --shape's weights: f32, bf16, f16, q8, q4, or a GGUF type (q4_0, q4_k_m, ...)");
  app.add_option("--tokenizer", r.tokenizer_dir, "tokenizer folder (default: --model)");
  return run(app, argc, argv, [&] {
    if (r.model.shape.empty()) check_model_dir(r.model.model_dir);
    else if (r.tokenizer_dir.empty()) throw CLI::ValidationError("--tokenizer", "--shape needs a tokenizer folder");
    if (!r.model.shape.empty()) r.model.model_dir.clear();
    if (!kv_memory.empty()) r.kv_memory = parse_bytes(kv_memory);
    set_threads(threads);
    r.log = log_line;
    tools::serve(r);
    return 0;
  });
}

}  // namespace cpplm::cli
