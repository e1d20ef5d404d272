// The internal tools API: what the command-line tools need beyond the public API (include/cpplm):
// checkpoint conversion and the benchmark's models, timers and bandwidth probes. Only standard
// types cross it, so apps/cli includes nothing else of src/ (tests/layers checks that).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cpplm::tools {

// The bundled model's folder: $CPPLM_MODEL when set, else found from this executable:
// <exe dir>/../share/cpplm/models/llama-6m-kjv-fortunes (installed) or
// <exe dir>/share/cpplm/models/llama-6m-kjv-fortunes (the build tree links it there). Returns the
// installed location (for the error message) when neither exists.
std::string bundled_model_dir();

// The whole file; throws std::runtime_error naming the path (missing, unreadable, a directory).
std::string read_text_file(const std::string& path);
// Resident memory of this process now (bytes; 0 where unknown).
size_t current_rss_bytes();
// CPU threads for the kernels (0 = all cores) and how many run.
void set_threads(int n);
int threads();
// The CPU kernel set in use ("avx512", "avx2", "scalar"; "avx512+amx" while the int8 prefill tiles run
// on AMX); force_isa picks one of the three.
std::string active_isa();
void force_isa(const std::string& name);
// True when this build has CUDA and a GPU is visible.
bool cuda_available();

// `cpplm convert` (mlx-lm convert): cast the weights to `dtype` ("" = keep, "bf16", "f16", "f32")
// and/or quantize them (mlx affine, bits 2..8, groups of 32/64/128) into the folder `out`, with
// config.json and the tokenizer, chat template and generation config files (nothing else).
struct ConvertRequest {
  std::string in, out, dtype;
  bool quantize = false;
  int bits = 4, group_size = 64;
  // (tensors done, tensors total, input bytes done, input bytes total); done == total: writing.
  std::function<void(size_t, size_t, size_t, size_t)> progress;
};
void convert(const ConvertRequest& r);

// Published model shapes for random-weight benchmarks (Hugging Face configs), by name.
std::vector<std::string> published_shapes();

// A model to benchmark: a checkpoint folder, or random weights of a shape (a published name or a
// config.json path) in dtype f32|bf16|f16|q8|q4 (q: mlx affine, group 64), on "cpu" or "cuda".
struct BenchSpec {
  std::string model_dir, shape, dtype = "bf16", device = "cpu";
  int kv_bits = 0;  // CacheOptions::kv_bits
  uint64_t seed = 1234;
  // GPU: rows of the batched decode step (CudaOptions::decode_batch_rows); -1: its default, 0: none.
  int decode_batch_rows = -1;
  int kv_block_size = 32;  // bench --concurrency: SchedulerOptions::kv_block_size (0: unpaged K/V)
  int prefill_chunk = 0;   // bench --concurrency: SchedulerOptions::prefill_chunk (0: its default)
  // How generated tokens are picked (tg and --concurrency; seeded per request): temp 0 is greedy.
  float temp = 0.0f, top_p = 1.0f;
  int top_k = 0;
  std::function<void(size_t done, size_t total)> progress;  // weight upload (GPU)
};

// The rows of the batched decode step for a server of `max_concurrent` sequences (BenchSpec::
// decode_batch_rows when left at -1): none for one (the single-stream step is faster), else that many
// rounded up to a multiple of 8 and at most 128, since every step runs all its rows.
int default_decode_batch_rows(int max_concurrent);

class BenchModel {
 public:
  static std::unique_ptr<BenchModel> load(const BenchSpec& spec);
  virtual ~BenchModel() = default;

  std::string name;     // "llama-3.2-1b q4", or the folder's name and dtype
  std::string backend;  // "CPU avx512", "CUDA cuda:0 (NVIDIA H200)"
  bool gpu = false;
  double size_bytes = 0;  // weights as held by the device
  double params = 0;
  double flops_per_token = 0;      // 2 x the parameters a token passes through (pp TFLOP/s)
  double decode_weight_bytes = 0;  // weight bytes one decode step reads
  size_t gpu_workspace_bytes = 0;
  // After each run: the sequence's K/V storage.
  size_t kv_bytes = 0, kv_bytes_per_position = 0;
  std::string kv_dtype;

  // One timed run, in seconds: `depth` random tokens of context first (untimed), then n_prompt
  // tokens as one batch (pp) or, with n_prompt 0, n_gen greedy decode steps (tg; the first step,
  // which captures the GPU's decode graph, untimed).
  virtual double run(int n_prompt, int n_gen, int depth) = 0;
};

// `cpplm bench --concurrency`: N requests of n_prompt random tokens, each generating n_gen tokens
// greedily (EOS ignored), submitted at once to the scheduler `cpplm serve` runs (continuous
// batching, chunked prefill; no prefix reuse: every prompt is new).
struct ConcurrencyResult {
  int requests = 0;
  double seconds = 0;                 // first submit to the last request's end
  double generated_tps = 0;           // generated tokens / seconds (prefill time included)
  double decode_tps = 0;              // generated tokens/s while every request decodes (0: never all at once)
  double ttft_p50 = 0, ttft_p99 = 0;  // time to first token, seconds
  double tpot_p50 = 0, tpot_p99 = 0;  // a request's seconds per token after its first
  size_t kv_peak_bytes = 0;           // K/V of running sequences, most at once
  size_t kv_budget_bytes = 0;         // the scheduler's K/V budget
  // One decode step of all N requests at the mean context (n_prompt + n_gen / 2): bytes read
  // (weights + K/V), and the tokens/s that bandwidth `bw_gbs` allows at that size (0 when bw is 0).
  double step_bytes = 0, roofline_tps = 0;
};
// Requests sharing a prompt prefix (a system prompt): the first runs alone, then the others at once.
struct SharedPrefixResult {
  double ttft_first = 0;              // the first request's time to first token, seconds
  double ttft_p50 = 0, ttft_p99 = 0;  // the others', all submitted at once
  double ttft_one = 0;                // the median of 4 more, each submitted after the previous ended
  int cached_tokens = 0;              // prompt tokens the others took from the prefix cache (median)
};
class ConcurrencyBench {
 public:
  static std::unique_ptr<ConcurrencyBench> load(const BenchSpec& spec);
  virtual ~ConcurrencyBench() = default;
  std::string name, backend;
  double weight_bytes = 0;  // read by every decode step
  size_t kv_bytes_per_position = 0;
  virtual ConcurrencyResult run(int requests, int n_prompt, int n_gen, double bw_gbs) = 0;
  // `requests` prompts of the same `prefix` tokens and `n_prompt` of their own, `n_gen` generated,
  // with the prefix cache on or off.
  virtual SharedPrefixResult run_shared_prefix(int requests, int prefix, int n_prompt, int n_gen, bool cache) = 0;
};

// `cpplm serve`: an OpenAI-compatible HTTP server (src/server) over one model. Blocks until
// SIGINT or SIGTERM (then stops accepting, lets running requests finish for `grace_ms`, cancels
// the rest) and returns. Throws std::runtime_error when the model cannot load or the address
// cannot be bound.
struct ServeRequest {
  BenchSpec model;            // model_dir, or shape + dtype (random weights) with `tokenizer_dir`
  std::string tokenizer_dir;  // default: model.model_dir
  std::string chat_template;  // a .jinja file or a folder (LoadOptions::chat_template)
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  std::string api_key;
  int max_concurrent = 8, max_queue = 64;
  int ctx_size = 0;        // 0: the model's context length, at most 4096
  size_t kv_memory = 0;    // bytes; 0: max_concurrent × ctx_size positions
  int prefill_chunk = 0;   // SchedulerOptions::prefill_chunk (0: by device and --max-concurrent)
  int prefill_budget = 0;  // SchedulerOptions::prefill_budget (0: by device)
  bool prefix_cache = true;
  int kv_block_size = 32;  // positions per block of the paged K/V pool; 0: an allocation per sequence
  size_t max_body_bytes = 8u << 20;
  int timeout_s = 30;  // read/write timeouts
  int grace_ms = 10000;
  std::function<void(const std::string&)> log;               // request lines and notices
  std::function<void(const std::string& url)> on_listening;  // the server accepts connections at `url`
};
void serve(const ServeRequest& r);

// Read bandwidth of this machine's memory (GB/s; a read-only sum over `bytes`, best of reps) and
// the GPU's device-to-device copy bandwidth (GB/s, read + write).
double read_bandwidth_gbs(size_t bytes, int reps);
double gpu_copy_bandwidth_gbs(size_t bytes);

}  // namespace cpplm::tools
