// `cpplm bench`: llama-bench-style throughput (pp: one prompt batch, tg: token by token) with the
// machine's read bandwidth (CPU) or device copy bandwidth (GPU) as the decode roofline; on a
// checkpoint or random weights of published shapes, CPU or GPU. Each result prints when measured;
// on a terminal, stderr shows which run of a test is under way.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "api/tools.h"
#include "cli_util.h"
#include "commands.h"

namespace cpplm::cli {
namespace {

struct Result {
  std::string test;
  int n_prompt = 0, n_gen = 0, depth = 0;
  double mean = 0, stddev = 0;  // tokens/s
  std::vector<double> samples;
};

std::vector<int> int_list(const std::string& s, const char* option) {
  std::vector<int> v;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item.empty()) continue;
    size_t used = 0;
    long long x = -1;
    try {
      x = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || x < 0 || x > (1 << 24))
      throw CLI::ValidationError(option, "'" + item + "' is not a count from 0 to 16777216");
    v.push_back(static_cast<int>(x));
  }
  return v;
}

std::vector<std::string> str_list(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) v.push_back(item);
  return v;
}

// The prefix-cache test (--concurrency with --shared-prefix): per request count, time to first token
// of requests that share a prefix, with the cache off and on, alternated `reps` times (medians).
void bench_shared_prefix(const tools::BenchSpec& spec, const std::vector<int>& ns, int prefix, int np, int ng, int reps,
                         const std::function<void(const std::string&)>& show) {
  auto b = tools::ConcurrencyBench::load(spec);
  show("");
  std::printf(
      "| model | backend | requests | shared prefix | own prompt | first TTFT ms | others at once: TTFT p50/p99 ms, no cache "
      "| with cache | p50 speedup | one at a time: TTFT ms, no cache | with cache | speedup | cached tokens |\n"
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  for (int n : ns) {
    show("[" + std::to_string(n) + " requests: warm-up]");
    b->run_shared_prefix(2, std::min(prefix, 64), std::min(np, 16), 2, true);
    std::vector<double> first, off50, off99, on50, on99, off1, on1;
    int cached = 0;
    for (int i = 0; i < reps; ++i) {
      for (bool cache : {false, true}) {
        char what[96];
        std::snprintf(what, sizeof what, "[%d requests, cache %s: run %d/%d]", n, cache ? "on" : "off", i + 1, reps);
        show(what);
        const tools::SharedPrefixResult r = b->run_shared_prefix(n, prefix, np, ng, cache);
        (cache ? on50 : off50).push_back(r.ttft_p50);
        (cache ? on99 : off99).push_back(r.ttft_p99);
        (cache ? on1 : off1).push_back(r.ttft_one);
        if (!cache) first.push_back(r.ttft_first);
        if (cache) cached = r.cached_tokens;
      }
    }
    show("");
    std::printf("| %s | %s | %d | %d | %d | %.1f | %.1f / %.1f | %.1f / %.1f | %.1fx | %.1f | %.1f | %.1fx | %d |\n",
                b->name.c_str(), b->backend.c_str(), n, prefix, np, median(first) * 1e3, median(off50) * 1e3, median(off99) * 1e3,
                median(on50) * 1e3, median(on99) * 1e3, median(off50) / median(on50), median(off1) * 1e3, median(on1) * 1e3,
                median(off1) / median(on1), cached);
    std::fflush(stdout);
  }
}

// The serving test (--concurrency): one line per request count.
// header: print the bandwidth line and the table's header first (the first of several calls).
void bench_concurrency(const tools::BenchSpec& spec, const std::vector<int>& ns, int np, int ng, double bw, bool gpu, bool json,
                       bool header, const std::function<void(const std::string&)>& show) {
  auto b = tools::ConcurrencyBench::load(spec);
  show("");
  if (!json && header) {
    if (bw > 0)
      std::printf("%s: %s bandwidth %.1f GB/s; decode step = weights %.2f GiB + K/V %.0f KiB per position\n\n", b->name.c_str(),
                  gpu ? "device-to-device copy" : "memory read", bw, b->weight_bytes / double(1ull << 30),
                  b->kv_bytes_per_position / 1024.0);
    std::printf(
        "| model | backend | requests | step rows | prompt | gen | gen t/s | decode t/s | roofline | TTFT p50/p99 ms | TPOT "
        "p50/p99 ms | K/V peak |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  }
  const int rows = gpu ? spec.decode_batch_rows : 0;  // the GPU's batched step (0: one by one; the CPU has none)
  for (int n : ns) {
    show("[" + std::to_string(n) + " requests: warm-up]");
    b->run(std::min(n, 4), std::min(np, 32), 8, bw);  // graphs, cuBLAS heuristics, buffers
    show("[" + std::to_string(n) + " requests]");
    const tools::ConcurrencyResult r = b->run(n, np, ng, bw);
    show("");
    if (json) {
      nlohmann::json o = {{"model", b->name},
                          {"backend", b->backend},
                          {"requests", n},
                          {"decode_batch_rows", rows},
                          {"n_prompt", np},
                          {"n_gen", ng},
                          {"seconds", r.seconds},
                          {"generated_ts", r.generated_tps},
                          {"decode_ts", r.decode_tps},
                          {"ttft_p50_s", r.ttft_p50},
                          {"ttft_p99_s", r.ttft_p99},
                          {"tpot_p50_s", r.tpot_p50},
                          {"tpot_p99_s", r.tpot_p99},
                          {"kv_peak_bytes", r.kv_peak_bytes},
                          {"kv_budget_bytes", r.kv_budget_bytes},
                          {"step_bytes", r.step_bytes}};
      if (bw > 0) o["roofline_ts"] = r.roofline_tps, o[gpu ? "copy_bandwidth_gbs" : "read_bandwidth_gbs"] = bw;
      std::printf("%s\n", o.dump().c_str());
    } else {
      char roof[64] = "-";
      if (r.roofline_tps > 0 && r.decode_tps > 0)
        std::snprintf(roof, sizeof roof, "%.0f%% of %.0f", 100 * r.decode_tps / r.roofline_tps, r.roofline_tps);
      std::printf("| %s | %s | %d | %s | %d | %d | %.1f | %.1f | %s | %.0f / %.0f | %.1f / %.1f | %.0f MiB |\n", b->name.c_str(),
                  b->backend.c_str(), n, rows > 0 ? std::to_string(rows).c_str() : "-", np, ng, r.generated_tps, r.decode_tps,
                  roof, r.ttft_p50 * 1e3, r.ttft_p99 * 1e3, r.tpot_p50 * 1e3, r.tpot_p99 * 1e3,
                  r.kv_peak_bytes / double(1ull << 20));
    }
    std::fflush(stdout);
  }
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  CLI::App app{"Throughput benchmark (llama-bench style): prompt processing (pp) and token generation (tg)", "cpplm bench"};
  std::string model, shapes, dtype = "bf16", prompts = "512", gens = "128", depths = "0", isa, device = "auto", concurrency;
  int threads = 0, reps = 3, kv_bits = 0;
  int decode_batch_rows = -1;       // BenchSpec::decode_batch_rows
  int kv_block_size = 32;           // BenchSpec::kv_block_size
  int prefill_chunk = 0;            // BenchSpec::prefill_chunk
  int shared_prefix = 0;            // --concurrency: tokens every prompt shares
  float temp = 0.0f, top_p = 1.0f;  // how generated tokens are picked (BenchSpec)
  int top_k = 0;
  uint64_t seed = 1234;
  bool json = false, no_bw = false, kv_bf16 = false;
  app.add_option("--model,-m", model, "checkpoint folder or GGUF file (default: the bundled model unless --shape)");
  app.add_option("--shape", shapes,
                 "random weights of llama-3.2-1b|llama-3.2-3b|llama-3.1-8b or a config.json path; several comma-separated");
  app.add_option("--dtype", dtype,
                 "weights for --shape: f32|bf16|f16|q8|q4 (mlx affine, group 64), or a GGUF block type (made on the CPU): "
                 "q4_0|q4_1|q5_0|q5_1|q8_0|iq4_nl|q2_k|q3_k|q4_k|q5_k|q6_k|iq4_xs|q4_k_m|q5_k_m")
      ->capture_default_str();  // checked when the shape is made (the error lists the names)
  app.add_option("-p,--n-prompt", prompts, "prompt lengths, comma-separated (0 = none)")->capture_default_str();
  app.add_option("-n,--n-gen", gens, "generation lengths, comma-separated (0 = none)")->capture_default_str();
  app.add_option("-d,--depth", depths, "tokens of context before each test, comma-separated")->capture_default_str();
  add_threads_option(app, threads);
  app.add_option("-r,--repetitions", reps, "timed runs per test")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--isa", isa, "force the kernel set: avx512|avx2|scalar")->check(CLI::IsMember({"avx512", "avx2", "scalar"}));
  app.add_flag("--json", json, "print JSON lines (one object per result) instead of a markdown table");
  app.add_flag("--no-bandwidth", no_bw, "skip the memory bandwidth probe");
  app.add_option("--device", device, "cpu, cuda or auto (cuda when a GPU is visible)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
  app.add_option("--kv-bits", kv_bits, "K/V cache storage: 0 = the model's dtype, 8 (8-bit codes), 16, 32 (f32)")
      ->check(CLI::IsMember({0, 8, 16, 32}))
      ->capture_default_str();
  app.add_option("--decode-batch-rows", decode_batch_rows,
                 "GPU: rows of the batched decode step that concurrent requests share, for every N of --concurrency "
                 "(default: each N on its own server, sized as `serve --max-concurrent N` sizes it: N rounded up to a "
                 "multiple of 8, at most 128; 0: requests decode one by one, as `generate` does)")
      ->check(CLI::Range(0, 4096));
  app.add_option("--kv-block-size", kv_block_size,
                 "--concurrency: positions per block of the paged K/V pool; 0: an allocation per sequence")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  app.add_option("--prefill-chunk", prefill_chunk,
                 "--concurrency: prompt tokens per forward pass of one request, as `serve --prefill-chunk` (default: serve's)")
      ->check(CLI::Range(1, 1 << 16));
  app.add_option("--shared-prefix", shared_prefix,
                 "--concurrency: every prompt starts with the same this many tokens (a system prompt) before its own -p; "
                 "prints the time to first token of the others after the first, with the prefix cache off and on")
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--concurrency", concurrency,
                 "serving test instead: N requests at once through the server's scheduler (-p prompt tokens, default 512; "
                 "-n generated, default 256, EOS ignored), for each N of a comma-separated list, e.g. 1,8,32,64,128");
  app.add_option("--temp", temp, "generated tokens (tg, --concurrency): sampling temperature, 0 = greedy; seeded per request")
      ->check(CLI::Range(0.0f, 100.0f))
      ->capture_default_str();
  app.add_option("--top-p", top_p, "with --temp: nucleus sampling threshold, 1 = off")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
  app.add_option("--top-k", top_k, "with --temp: keep the k most likely tokens, 0 = off")
      ->check(CLI::Range(0, 1 << 30))
      ->capture_default_str();
  app.add_flag("--kv-bf16", kv_bf16, "same as --kv-bits 16 (the model's 16-bit type: bf16, or f16 for an f16 model)");
  app.add_option("--seed", seed, "seed of the random weights and tokens: an integer from 0 to 2^64-1 (negative is an error)")
      ->check(seed_range())
      ->capture_default_str();
  return run(app, argc, argv, [&]() {
    tools::set_threads(threads);
    if (!isa.empty()) tools::force_isa(isa);
    const bool gpu = device == "cuda" || (device == "auto" && tools::cuda_available());
    if (kv_bf16) kv_bits = 16;
    if (!model.empty() && !shapes.empty()) throw CLI::ValidationError("--model and --shape exclude each other");
    if (!model.empty()) check_model_dir(model);
    for (const std::string& shape : str_list(shapes))
      if (std::filesystem::is_directory(shape))
        throw std::runtime_error(shape + ": is a directory (--shape takes a config.json file)");
    // On a terminal, "[pp512: run 2/3]" on stderr while a test runs, erased before its result prints.
    const bool progress = isatty(STDERR_FILENO);
    auto show = [&](const std::string& what) {
      if (progress) std::fprintf(stderr, "\r\033[K%s", what.c_str()), std::fflush(stderr);
    };
    const std::vector<int> pp = int_list(prompts, "-p"), tg = int_list(gens, "-n"), ds = int_list(depths, "-d");
    if (temp > 0 && !json)
      std::printf("generated tokens sampled at temp %g, top-p %g, top-k %d (seeded per request)\n\n", temp, top_p, top_k);
    auto spec_for = [&](const std::string& shape) {
      tools::BenchSpec spec;
      spec.model_dir = shape.empty() ? (model.empty() ? default_model_dir() : model) : "";
      spec.shape = shape;
      spec.dtype = dtype;
      spec.device = gpu ? "cuda" : "cpu";
      spec.kv_bits = kv_bits;
      spec.seed = seed;
      spec.decode_batch_rows = decode_batch_rows;
      spec.kv_block_size = kv_block_size;
      spec.prefill_chunk = prefill_chunk;
      spec.temp = temp, spec.top_p = top_p, spec.top_k = top_k;
      if (progress)
        spec.progress = [&](size_t done, size_t total) {
          show("[uploading weights: " + std::to_string(done >> 20) + "/" + std::to_string(total >> 20) + " MiB]");
        };
      return spec;
    };
    // CPU: read bandwidth; GPU: device-to-device copy bandwidth (read + write). Measured before the
    // weights are loaded (the probe's 2 GiB are freed again).
    double bw = 0;
    if (!no_bw) bw = gpu ? tools::gpu_copy_bandwidth_gbs(size_t{2} << 30) : tools::read_bandwidth_gbs(size_t{2} << 30, 3);
    bool header = json;  // printed once the first model loaded (nothing on stdout when none can)
    std::vector<std::string> specs = shapes.empty() ? std::vector<std::string>{""} : str_list(shapes);
    if (!concurrency.empty()) {
      const std::vector<int> ns = int_list(concurrency, "--concurrency");
      const int np = app.count("-p") ? (pp.empty() ? 0 : pp[0]) : 512, ng = app.count("-n") ? (tg.empty() ? 0 : tg[0]) : 256;
      if (ns.empty() || *std::min_element(ns.begin(), ns.end()) < 1 || np < 1 || ng < 1)
        throw CLI::ValidationError("--concurrency", "needs request counts, prompt and generated tokens of at least 1");
      // Each N on a server sized as `serve --max-concurrent N` sizes it (on the GPU its batched step's rows, which every
      // step runs: a model per distinct size), or all on one whose step has --decode-batch-rows rows. The shared-prefix
      // test: one server sized for the most requests.
      const int most = *std::max_element(ns.begin(), ns.end());
      for (const std::string& shape : specs) {
        tools::BenchSpec s = spec_for(shape);
        if (shared_prefix > 0 || s.decode_batch_rows >= 0 || !gpu) {  // one server
          if (s.decode_batch_rows < 0) s.decode_batch_rows = tools::default_decode_batch_rows(most);
          if (shared_prefix > 0) bench_shared_prefix(s, ns, shared_prefix, np, ng, reps, show);
          else bench_concurrency(s, ns, np, ng, bw, gpu, json, /*header=*/true, show);
          continue;
        }
        bool header = true;                   // the shape's bandwidth line and table, once
        for (size_t i = 0; i < ns.size();) {  // runs of N that share a step size, one model each
          s.decode_batch_rows = tools::default_decode_batch_rows(ns[i]);
          std::vector<int> run;
          for (; i < ns.size() && tools::default_decode_batch_rows(ns[i]) == s.decode_batch_rows; ++i) run.push_back(ns[i]);
          bench_concurrency(s, run, np, ng, bw, gpu, json, std::exchange(header, false), show);
        }
      }
      return 0;
    }
    for (const std::string& shape : specs) {
      auto m = tools::BenchModel::load(spec_for(shape));
      show("");
      if (!header) {
        if (bw > 0 && gpu) std::printf("device-to-device copy bandwidth (2 GiB, read + write): %.1f GB/s\n\n", bw);
        else if (bw > 0)
          std::printf("memory read bandwidth (read-only sum over 2 GiB, %d threads): %.1f GB/s\n\n", tools::threads(), bw);
        std::printf(
            "| model | size | params | backend | threads | test | t/s | roofline |\n"
            "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |\n");
        header = true;
      }
      size_t rss_peak = 0;
      auto bench = [&](int np, int ng, int depth) {
        Result r;
        r.n_prompt = np, r.n_gen = ng, r.depth = depth;
        r.test = (np > 0 ? "pp" + std::to_string(np) : "tg" + std::to_string(ng)) + (depth ? " @ d" + std::to_string(depth) : "");
        // Warm-up: CPU pages and buffers; GPU graph capture and cuBLAS heuristics (so the full test).
        show("[" + r.test + ": warm-up]");
        if (gpu) m->run(np, ng, 0);
        else m->run(np > 0 ? std::min(np, 16) : 0, np > 0 ? 0 : std::min(ng, 4), 0);
        for (int i = 0; i < reps; ++i) {
          show("[" + r.test + ": run " + std::to_string(i + 1) + "/" + std::to_string(reps) + "]");
          r.samples.push_back((np > 0 ? np : ng) / m->run(np, ng, depth));
          rss_peak = std::max(rss_peak, tools::current_rss_bytes());
        }
        show("");
        for (double s : r.samples) r.mean += s / reps;
        for (double s : r.samples) r.stddev += (s - r.mean) * (s - r.mean);
        r.stddev = reps > 1 ? std::sqrt(r.stddev / (reps - 1)) : 0;
        // Bytes one decode step reads: the weights plus the K/V cache at the test's mean context.
        const double bpt = m->decode_weight_bytes + static_cast<double>(m->kv_bytes_per_position) * (depth + ng / 2.0);
        if (json) {
          nlohmann::json o = {{"model", m->name},
                              {"size_bytes", m->size_bytes},
                              {"params", m->params},
                              {"backend", m->backend},
                              {"threads", gpu ? 0 : tools::threads()},
                              {"test", r.test},
                              {"n_prompt", np},
                              {"n_gen", ng},
                              {"n_depth", depth},
                              {"avg_ts", r.mean},
                              {"stddev_ts", r.stddev},
                              {"samples_ts", r.samples},
                              {"rss_bytes", rss_peak},
                              {"kv_dtype", m->kv_dtype},
                              {"kv_cache_bytes", m->kv_bytes}};
          o[gpu ? "copy_bandwidth_gbs" : "read_bandwidth_gbs"] = bw;
          if (gpu) o["gpu_weights_bytes"] = m->size_bytes, o["gpu_workspace_bytes"] = m->gpu_workspace_bytes;
          if (np > 0) o["tflops"] = m->flops_per_token * r.mean / 1e12;
          if (ng > 0) {
            o["bytes_per_token"] = bpt;
            o["achieved_gbs"] = bpt * r.mean / 1e9;
            if (bw > 0) o["bandwidth_fraction"] = bpt * r.mean / 1e9 / bw;
          }
          std::printf("%s\n", o.dump().c_str());
        } else {
          char roof[96] = "";
          if (np > 0) std::snprintf(roof, sizeof roof, "%.1f TFLOP/s", m->flops_per_token * r.mean / 1e12);
          else if (bw > 0) std::snprintf(roof, sizeof roof, "%.0f%% of %.1f t/s", 100 * bpt * r.mean / 1e9 / bw, bw * 1e9 / bpt);
          std::printf("| %s | %.2f GiB | %.2f B | %s | %s | %s | %.2f ± %.2f | %s |\n", m->name.c_str(),
                      m->size_bytes / (1ull << 30), m->params / 1e9, m->backend.c_str(),
                      gpu ? "-" : std::to_string(tools::threads()).c_str(), r.test.c_str(), r.mean, r.stddev, roof);
        }
        std::fflush(stdout);
      };
      for (int depth : ds) {
        for (int np : pp)
          if (np > 0) bench(np, 0, depth);
        for (int ng : tg)
          if (ng > 0) bench(0, ng, depth);
      }
      if (json) continue;
      if (gpu)
        std::printf("%s: GPU memory: weights %.2f GiB, KV cache %.1f MiB (%s, largest run), workspace %.1f MiB\n",
                    m->name.c_str(), m->size_bytes / double(1ull << 30), m->kv_bytes / double(1ull << 20), m->kv_dtype.c_str(),
                    m->gpu_workspace_bytes / double(1ull << 20));
      else
        std::printf(
            "%s: resident memory (peak after a run): %.2f GiB = weights %.2f GiB + KV cache %.1f MiB (%s, largest run) + other "
            "%.1f MiB\n",
            m->name.c_str(), rss_peak / double(1ull << 30), m->size_bytes / (1ull << 30), m->kv_bytes / double(1ull << 20),
            m->kv_dtype.c_str(),
            (static_cast<double>(rss_peak) - m->size_bytes - static_cast<double>(m->kv_bytes)) / (1ull << 20));
    }
    return 0;
  });
}

}  // namespace cpplm::cli
