// `cpplm bench`: llama-bench-style throughput (pp: one prompt batch, tg: token by token) with the
// machine's read bandwidth as the decode roofline; on a checkpoint or random weights of a published shape.
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <sstream>

#include "backends/cpu/cpu_features.h"
#include "cli_util.h"
#include "commands.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "runtime/generate.h"
#include "model/llama.h"
#include "model/random_weights.h"
#include "ops/memory_bandwidth.h"

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

// One timed run: `depth` tokens of context first (untimed), then pp (one batch) or tg (one by one).
double run_once(Model& m, int n_prompt, int n_gen, int depth, std::mt19937& rng) {
  SequenceCache cache = m.make_cache();
  const int vocab = m.args().vocab_size;
  for (int done = 0; done < depth; done += 512) {
    std::vector<int32_t> ctx = random_tokens(std::min(512, depth - done), vocab, rng);
    SequenceInput in{ctx, &cache};
    m.forward({&in, 1}, /*all_logits=*/false);
  }
  std::vector<int32_t> toks = random_tokens(std::max(n_prompt, 1), vocab, rng);
  const auto t0 = std::chrono::steady_clock::now();
  if (n_prompt > 0) {
    SequenceInput in{toks, &cache};
    m.forward({&in, 1}, false);
  } else {
    int32_t tok = toks[0];
    for (int i = 0; i < n_gen; ++i) {
      SequenceInput in{std::span<const int32_t>(&tok, 1), &cache};
      std::vector<float> logits = m.forward({&in, 1}, false);
      tok = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
  }
  return seconds_since(t0);
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
  std::string model, shape, dtype = "bf16", prompts = "512", gens = "128", isa;
  int depth = 0, threads = 0, reps = 3, seed = 1234;
  bool json = false, no_bw = false;
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
  return run(app, argc, argv, [&]() {
    set_threads(threads);
    const int nthreads = omp_get_max_threads();
    if (!isa.empty()) cpu::set_active_isa(isa == "avx512" ? cpu::Isa::Avx512 : isa == "avx2" ? cpu::Isa::Avx2 : cpu::Isa::Scalar);
    double bw = 0;
    if (!no_bw) bw = measure_read_bandwidth(size_t{2} << 30, 3);  // before the weights: 2 GiB freed again

    std::unique_ptr<Model> m;
    std::string name;
    if (!shape.empty()) {
      if (!model.empty()) throw CLI::ValidationError("--model and --shape exclude each other");
      nlohmann::json cfg;
      if (const char* c = shape_config(shape)) cfg = nlohmann::json::parse(c);
      else if (std::filesystem::exists(shape)) cfg = nlohmann::json::parse(read_text_file(shape));
      else throw CLI::ValidationError("--shape: unknown shape '" + shape + "' (llama-3.2-1b, llama-3.2-3b, llama-3.1-8b or a config.json)");
      const int bits = dtype == "q8" ? 8 : dtype == "q4" ? 4 : 0, group = 64;
      const DType ft = dtype == "f32" ? DType::F32 : dtype == "f16" ? DType::F16 : DType::BF16;
      if (bits) cfg["quantization"] = {{"group_size", group}, {"bits", bits}};
      ModelArgs args = parse_model_args(cfg, shape);
      m = Model::from_tensors(args, random_weights(args, ft, bits, group, static_cast<uint64_t>(seed)), shape);
      name = (shape_config(shape) ? shape : std::filesystem::path(shape).parent_path().filename().string()) + " " + dtype;
    } else {
      if (model.empty()) model = default_model_dir();
      m = Model::load(model);
      const ModelArgs& a = m->args();
      name = std::filesystem::path(model).filename().string() + " " +
             (a.quantization ? "q" + std::to_string(a.quantization->bits) : std::string(dtype_name(m->model_dtype())));
    }
    const double size_gib = static_cast<double>(m->weight_bytes()) / (1ull << 30);
    const double params_b = static_cast<double>(m->num_params()) / 1e9;
    const std::string backend = "CPU " + std::string(cpu::isa_name(cpu::active_isa()));

    std::mt19937 rng(seed);
    std::vector<Result> results;
    auto bench = [&](int np, int ng) {
      Result r;
      r.n_prompt = np;
      r.n_gen = ng;
      r.depth = depth;
      r.test = (np > 0 ? "pp" + std::to_string(np) : "tg" + std::to_string(ng)) + (depth ? " @ d" + std::to_string(depth) : "");
      run_once(*m, np > 0 ? std::min(np, 16) : 0, np > 0 ? 0 : std::min(ng, 4), 0, rng);  // warm-up: pages, buffers
      for (int i = 0; i < reps; ++i) r.samples.push_back((np > 0 ? np : ng) / run_once(*m, np, ng, depth, rng));
      for (double s : r.samples) r.mean += s / reps;
      for (double s : r.samples) r.stddev += (s - r.mean) * (s - r.mean);
      r.stddev = reps > 1 ? std::sqrt(r.stddev / (reps - 1)) : 0;
      results.push_back(r);
    };
    for (int np : int_list(prompts))
      if (np > 0) bench(np, 0);
    for (int ng : int_list(gens))
      if (ng > 0) bench(0, ng);

    // Bytes one decode step reads: every weight once (a tied lm_head shares embed_tokens) + the K/V cache.
    const ModelArgs& a = m->args();
    const double weight_bytes = static_cast<double>(m->weight_bytes());
    auto kv_bytes = [&](int ctx) { return 2.0 * a.num_hidden_layers * a.num_key_value_heads * a.head_dim * sizeof(float) * ctx; };
    const double rss_gib = static_cast<double>(current_rss_bytes()) / (1ull << 30);

    if (json) {
      nlohmann::json out = nlohmann::json::array();
      for (const Result& r : results) {
        nlohmann::json o = {{"model", name}, {"size_bytes", m->weight_bytes()}, {"params", m->num_params()},
                            {"backend", backend}, {"threads", nthreads}, {"test", r.test}, {"n_prompt", r.n_prompt},
                            {"n_gen", r.n_gen}, {"n_depth", r.depth}, {"avg_ts", r.mean}, {"stddev_ts", r.stddev},
                            {"samples_ts", r.samples}, {"read_bandwidth_gbs", bw}, {"rss_bytes", current_rss_bytes()}};
        if (r.n_gen > 0) {
          const double bpt = weight_bytes + kv_bytes(r.depth + r.n_gen / 2);
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
      std::printf("| %s | %.2f GiB | %.2f B | %s | %d | %s | %.2f ± %.2f |\n", name.c_str(), size_gib, params_b,
                  backend.c_str(), nthreads, r.test.c_str(), r.mean, r.stddev);
    std::printf("\n");
    if (bw > 0) std::printf("memory read bandwidth (read-only sum over 2 GiB, %d threads): %.1f GB/s\n", nthreads, bw);
    for (const Result& r : results) {
      if (r.n_gen == 0) continue;
      const double bpt = weight_bytes + kv_bytes(r.depth + r.n_gen / 2);
      std::printf("%s: %.1f MB read per token, %.1f GB/s", r.test.c_str(), bpt / 1e6, bpt * r.mean / 1e9);
      if (bw > 0) std::printf(" = %.0f%% of the read bandwidth (roofline %.1f t/s)", 100 * bpt * r.mean / 1e9 / bw, bw * 1e9 / bpt);
      std::printf("\n");
    }
    std::printf("resident memory: %.2f GiB (weights %.2f GiB + KV cache + workspace)\n", rss_gib, size_gib);
    return 0;
  });
}

}  // namespace cpplm::cli
