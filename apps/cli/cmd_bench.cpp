// `cpplm bench`: llama-bench-style throughput (pp: one prompt batch, tg: token by token) with the
// machine's read bandwidth (CPU) or device copy bandwidth (GPU) as the decode roofline; on a
// checkpoint or random weights of a published shape.
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <sstream>

#include "api/model_factory.h"
#include "backends/cpu/cpu_features.h"
#include "cli_util.h"
#include "commands.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "runtime/cpu_model.h"
#include "runtime/generate.h"
#include "model/llama.h"
#include "model/random_weights.h"
#include "model/registry.h"
#include "ops/memory_bandwidth.h"
#ifdef CPPLM_HAVE_CUDA
#include "backends/cuda/cuda_model.h"
#endif

namespace cpplm::cli {
namespace {

// Published configs (Hugging Face meta-llama/*), the fields the graph needs.
const char* shape_config(const std::string& name) {
  if (name == "llama-3.2-1b")
    return R"({"model_type":"llama","hidden_size":2048,"num_hidden_layers":16,"intermediate_size":8192,
      "num_attention_heads":32,"num_key_value_heads":8,"head_dim":64,"vocab_size":128256,"rms_norm_eps":1e-5,
      "rope_theta":500000.0,"max_position_embeddings":131072,"tie_word_embeddings":true,
      "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}})";
  if (name == "llama-3.2-3b")
    return R"({"model_type":"llama","hidden_size":3072,"num_hidden_layers":28,"intermediate_size":8192,
      "num_attention_heads":24,"num_key_value_heads":8,"head_dim":128,"vocab_size":128256,"rms_norm_eps":1e-5,
      "rope_theta":500000.0,"max_position_embeddings":131072,"tie_word_embeddings":true,
      "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}})";
  if (name == "llama-3.1-8b")
    return R"({"model_type":"llama","hidden_size":4096,"num_hidden_layers":32,"intermediate_size":14336,
      "num_attention_heads":32,"num_key_value_heads":8,"head_dim":128,"vocab_size":128256,"rms_norm_eps":1e-5,
      "rope_theta":500000.0,"max_position_embeddings":131072,"tie_word_embeddings":false,
      "rope_scaling":{"factor":8.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}})";
  return nullptr;
}

struct Result {
  std::string test;
  int n_prompt = 0, n_gen = 0, depth = 0;
  double mean = 0, stddev = 0;  // tokens/s
  std::vector<double> samples;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<int32_t> random_tokens(int n, int vocab, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> d(0, vocab - 1);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = d(rng);
  return t;
}

// One timed run: `depth` tokens of context first (untimed), then pp (one batch) or tg (one by one,
// greedy: on a GPU the token is chosen on the device; the first step, which captures the decode
// graph there, is not timed). The sequence is returned for its cache figures.
std::unique_ptr<SequenceState> run_once(LanguageModel& lm, const CacheOptions& cache, int n_prompt, int n_gen, int depth,
                                        std::mt19937& rng, double* seconds) {
  auto seq = lm.make_sequence(cache);
  const int vocab = lm.args().vocab_size;
  for (int done = 0; done < depth; done += 512) {
    std::vector<int32_t> ctx = random_tokens(std::min(512, depth - done), vocab, rng);
    SequenceTokens in{ctx, seq.get()};
    lm.forward({&in, 1}, /*all_logits=*/false);
  }
  std::vector<int32_t> toks = random_tokens(std::max(n_prompt, 1), vocab, rng);
  Sampler greedy(SamplingParams{});
  if (n_prompt > 0) {
    const auto t0 = std::chrono::steady_clock::now();
    SequenceTokens in{toks, seq.get()};
    lm.forward({&in, 1}, false);  // returns logits on the host: synchronous
    *seconds = seconds_since(t0);
  } else {
    int32_t tok = lm.decode(*seq, toks[0], greedy);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n_gen; ++i) tok = lm.decode(*seq, tok, greedy);
    *seconds = seconds_since(t0);
  }
  return seq;
}

// Bytes a decode step must read from the weights: every layer's projections and lm_head (a tied
// table counts once; norms and the embedding row are negligible).
double decode_weight_bytes(const ModelArgs& a, size_t elem) {
  const double H = a.hidden_size, D = a.head_dim, I = a.intermediate_size;
  const double layer = H * (a.num_attention_heads + 2.0 * a.num_key_value_heads) * D + a.num_attention_heads * D * H + 3 * H * I;
  return static_cast<double>(elem) * (layer * a.num_hidden_layers + static_cast<double>(a.vocab_size) * H);
}

std::vector<int> int_list(const std::string& s) {
  std::vector<int> v;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) v.push_back(std::stoi(item));
  return v;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  CLI::App app{"Throughput benchmark (llama-bench style): prompt processing (pp) and token generation (tg)", "cpplm bench"};
  std::string model, shape, dtype = "bf16", prompts = "512", gens = "128", isa, device = "auto";
  int depth = 0, threads = 0, reps = 3, seed = 1234;
  int kv_bits = 0;
  bool json = false, no_bw = false, kv_bf16 = false;
  app.add_option("--model,-m", model, "checkpoint folder (default: the bundled model unless --shape)");
  app.add_option("--shape", shape, "random weights of llama-3.2-1b|llama-3.2-3b|llama-3.1-8b or a config.json path");
  app.add_option("--dtype", dtype, "weights for --shape: f32|bf16|f16|q8|q4 (q: mlx affine, group 64)")
      ->check(CLI::IsMember({"f32", "bf16", "f16", "q8", "q4"}))->capture_default_str();
  app.add_option("-p,--n-prompt", prompts, "prompt lengths, comma-separated (0 = none)")->capture_default_str();
  app.add_option("-n,--n-gen", gens, "generation lengths, comma-separated (0 = none)")->capture_default_str();
  app.add_option("-d,--depth", depth, "tokens of context before each test")->check(CLI::NonNegativeNumber);
  app.add_option("-t,--threads", threads, "CPU threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("-r,--repetitions", reps, "timed runs per test")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--isa", isa, "force the kernel set: avx512|avx2|scalar")->check(CLI::IsMember({"avx512", "avx2", "scalar"}));
  app.add_flag("--json", json, "print JSON instead of a markdown table");
  app.add_flag("--no-bandwidth", no_bw, "skip the memory bandwidth probe");
  app.add_option("--device", device, "cpu, cuda or auto (cuda when a GPU is visible)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))->capture_default_str();
  app.add_option("--kv-bits", kv_bits, "K/V cache storage: 0 = the model's dtype, 8 (8-bit codes, CPU), 16, 32 (f32)")
      ->check(CLI::IsMember({0, 8, 16, 32}))->capture_default_str();
  app.add_flag("--kv-bf16", kv_bf16, "same as --kv-bits 16");
  return run(app, argc, argv, [&]() {
    set_threads(threads);
    const int nthreads = omp_get_max_threads();
    if (!isa.empty()) cpu::set_active_isa(isa == "avx512" ? cpu::Isa::Avx512 : isa == "avx2" ? cpu::Isa::Avx2 : cpu::Isa::Scalar);
    const bool gpu = device == "cuda" || (device == "auto" && cuda_available());
    if (kv_bf16) kv_bits = 16;
    if (gpu && !cuda_available()) throw Error("device cuda: no GPU is visible or this build has no CUDA support");
    if (!model.empty() && !shape.empty()) throw CLI::ValidationError("--model and --shape exclude each other");
    double bw = 0;  // CPU: read bandwidth; GPU: device-to-device copy bandwidth (read + write)
#ifdef CPPLM_HAVE_CUDA
    if (gpu && !no_bw) bw = cuda_copy_bandwidth(0, size_t{2} << 30) / 1e9;
#endif
    if (!gpu && !no_bw) bw = measure_read_bandwidth(size_t{2} << 30, 3);  // before the weights: 2 GiB freed again

    std::unique_ptr<Model> m;  // the CPU model (dropped once a GPU copy exists)
    std::unique_ptr<LanguageModel> lm;
    std::string name;
    ModelArgs args;
    DType wtype = DType::BF16;
    if (!shape.empty()) {
      nlohmann::json cfg;
      if (const char* c = shape_config(shape)) cfg = nlohmann::json::parse(c);
      else if (std::filesystem::exists(shape)) cfg = nlohmann::json::parse(read_text_file(shape));
      else throw CLI::ValidationError("--shape: unknown shape '" + shape + "' (llama-3.2-1b, llama-3.2-3b, llama-3.1-8b or a config.json)");
      const int bits = dtype == "q8" ? 8 : dtype == "q4" ? 4 : 0, group = 64;
      wtype = dtype == "f32" ? DType::F32 : dtype == "f16" ? DType::F16 : DType::BF16;
      if (bits) cfg["quantization"] = {{"group_size", group}, {"bits", bits}};
      args = parse_model_args(cfg, shape);
      if (!gpu) m = Model::from_tensors(args, random_weights(args, wtype, bits, group, static_cast<uint64_t>(seed)), shape);
      name = (shape_config(shape) ? shape : std::filesystem::path(shape).parent_path().filename().string()) + " " + dtype;
    } else {
      if (model.empty()) model = default_model_dir();
      m = Model::load(model);
      const ModelArgs& a = m->args();
      wtype = m->model_dtype();
      args = a;
      name = std::filesystem::path(model).filename().string() + " " +
             (a.quantization ? "q" + std::to_string(a.quantization->bits) : std::string(dtype_name(wtype)));
    }
    double size_bytes = 0, params = 0;
    std::string backend;
    if (gpu) {
#ifdef CPPLM_HAVE_CUDA
      CudaOptions o;
      if (m) {
        lm = make_cuda_model(*m, o);
      } else {
        resolve_model_family(args, shape);
        lm = make_cuda_model_random(args, wtype, static_cast<uint64_t>(seed), o);
      }
      size_bytes = static_cast<double>(cuda_memory(*lm).weights);
      params = m ? static_cast<double>(m->num_params())
                 : decode_weight_bytes(args, 1) + (args.tie_word_embeddings.value_or(false) ? 0.0 : static_cast<double>(args.vocab_size) * args.hidden_size);
      backend = "CUDA " + lm->device();
      m.reset();
#endif
    } else {
      size_bytes = static_cast<double>(m->weight_bytes());
      params = static_cast<double>(m->num_params());
      backend = "CPU " + std::string(cpu::isa_name(cpu::active_isa()));
      lm = std::make_unique<CpuModel>(std::move(m));
    }

    std::mt19937 rng(seed);
    std::vector<Result> results;
    const CacheOptions cache_opts{std::nullopt, kv_bits};
    size_t kv_alloc = 0, kv_per_pos = 0, rss_peak = 0;  // largest K/V allocation, its bytes per position
    std::string kv_dtype;
    auto once = [&](int np, int ng, int d) {
      double t = 0;
      auto seq = run_once(*lm, cache_opts, np, ng, d, rng, &t);
      kv_alloc = std::max(kv_alloc, seq->nbytes());
      kv_per_pos = seq->bytes_per_position();
      kv_dtype = seq->kv_dtype();
      rss_peak = std::max(rss_peak, current_rss_bytes());
      return t;
    };
    auto bench = [&](int np, int ng) {
      Result r;
      r.n_prompt = np;
      r.n_gen = ng;
      r.depth = depth;
      r.test = (np > 0 ? "pp" + std::to_string(np) : "tg" + std::to_string(ng)) + (depth ? " @ d" + std::to_string(depth) : "");
      // Warm-up: CPU pages and buffers; GPU graph capture and cuBLAS heuristics (so the full test).
      if (gpu) once(np, ng, 0);
      else once(np > 0 ? std::min(np, 16) : 0, np > 0 ? 0 : std::min(ng, 4), 0);
      for (int i = 0; i < reps; ++i) r.samples.push_back((np > 0 ? np : ng) / once(np, ng, depth));
      for (double s : r.samples) r.mean += s / reps;
      for (double s : r.samples) r.stddev += (s - r.mean) * (s - r.mean);
      r.stddev = reps > 1 ? std::sqrt(r.stddev / (reps - 1)) : 0;
      results.push_back(r);
    };
    for (int np : int_list(prompts))
      if (np > 0) bench(np, 0);
    for (int ng : int_list(gens))
      if (ng > 0) bench(0, ng);

    // Bytes one decode step reads: CPU every weight once (a tied lm_head shares embed_tokens),
    // GPU the projections and lm_head; plus the K/V cache at the test's mean context.
    // (GPU, mlx-quantized: bits / 8 per weight plus a scale and a bias per group.)
    const double gpu_elem = args.quantization ? args.quantization->bits / 8.0 + 2.0 * dtype_size(wtype) / args.quantization->group_size
                                              : static_cast<double>(dtype_size(wtype));
    const double weight_bytes = gpu ? decode_weight_bytes(args, 1) * gpu_elem : size_bytes;
    auto bytes_per_token = [&](const Result& r) { return weight_bytes + static_cast<double>(kv_per_pos) * (r.depth + r.n_gen / 2.0); };
#ifdef CPPLM_HAVE_CUDA
    const CudaMemory gmem = gpu ? cuda_memory(*lm) : CudaMemory{};
#else
    const struct { size_t weights = 0, workspace = 0; } gmem;
#endif
    const std::string bw_name = gpu ? "device copy bandwidth" : "read bandwidth";

    if (json) {
      nlohmann::json out = nlohmann::json::array();
      for (const Result& r : results) {
        nlohmann::json o = {{"model", name}, {"size_bytes", size_bytes}, {"params", params}, {"backend", backend},
                            {"threads", gpu ? 0 : nthreads}, {"test", r.test}, {"n_prompt", r.n_prompt},
                            {"n_gen", r.n_gen}, {"n_depth", r.depth}, {"avg_ts", r.mean}, {"stddev_ts", r.stddev},
                            {"samples_ts", r.samples}, {"rss_bytes", rss_peak}, {"kv_dtype", kv_dtype},
                            {"kv_cache_bytes", kv_alloc}};
        o[gpu ? "copy_bandwidth_gbs" : "read_bandwidth_gbs"] = bw;
        if (gpu) {
          o["gpu_weights_bytes"] = gmem.weights;
          o["gpu_workspace_bytes"] = gmem.workspace;
        }
        if (r.n_gen > 0) {
          const double bpt = bytes_per_token(r);
          o["bytes_per_token"] = bpt;
          o["achieved_gbs"] = bpt * r.mean / 1e9;
          if (bw > 0) o["bandwidth_fraction"] = bpt * r.mean / 1e9 / bw;
        }
        out.push_back(o);
      }
      std::printf("%s\n", out.dump(2).c_str());
      return 0;
    }
    std::printf("| model | size | params | backend | threads | test | t/s |\n| --- | ---: | ---: | --- | ---: | ---: | ---: |\n");
    for (const Result& r : results)
      std::printf("| %s | %.2f GiB | %.2f B | %s | %s | %s | %.2f ± %.2f |\n", name.c_str(), size_bytes / (1ull << 30), params / 1e9,
                  backend.c_str(), gpu ? "-" : std::to_string(nthreads).c_str(), r.test.c_str(), r.mean, r.stddev);
    std::printf("\n");
    if (bw > 0 && gpu) std::printf("device-to-device copy bandwidth (2 GiB, read + write): %.1f GB/s\n", bw);
    else if (bw > 0) std::printf("memory read bandwidth (read-only sum over 2 GiB, %d threads): %.1f GB/s\n", nthreads, bw);
    for (const Result& r : results) {
      if (r.n_gen == 0) continue;
      const double bpt = bytes_per_token(r);
      std::printf("%s: %.1f MB read per token, %.1f GB/s", r.test.c_str(), bpt / 1e6, bpt * r.mean / 1e9);
      if (bw > 0) std::printf(" = %.0f%% of the %s (roofline %.1f t/s)", 100 * bpt * r.mean / 1e9 / bw, bw_name.c_str(), bw * 1e9 / bpt);
      std::printf("\n");
    }
    if (gpu)
      std::printf("GPU memory: weights %.2f GiB, KV cache %.1f MiB (%s, largest run), workspace %.1f MiB\n",
                  gmem.weights / double(1ull << 30), kv_alloc / double(1ull << 20), kv_dtype.c_str(),
                  gmem.workspace / double(1ull << 20));
    else
      std::printf("resident memory (peak after a run): %.2f GiB = weights %.2f GiB + KV cache %.1f MiB (%s, largest run) + other %.1f MiB\n",
                  rss_peak / double(1ull << 30), size_bytes / (1ull << 30), kv_alloc / double(1ull << 20), kv_dtype.c_str(),
                  (static_cast<double>(rss_peak) - size_bytes - static_cast<double>(kv_alloc)) / (1ull << 20));
    return 0;
  });
}

}  // namespace cpplm::cli
