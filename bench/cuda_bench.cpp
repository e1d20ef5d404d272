// GPU benchmark, llama-bench style: pp512 and tg128 (and tg at a long context) on random bf16
// weights of published shapes, with achieved bandwidth against a measured device copy.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/cuda/cuda_model.h"
#include "core/error.h"

using namespace cpplm;

namespace {

ModelArgs shape(const std::string& name) {
  ModelArgs a;
  a.model_type = "llama";
  a.vocab_size = 128256;
  a.rms_norm_eps = 1e-5;
  a.rope_theta = 500000.0;
  a.max_position_embeddings = 131072;
  a.rope_scaling.type = "llama3";
  a.rope_scaling.factor = 32.0;
  a.rope_scaling.low_freq_factor = 1.0;
  a.rope_scaling.high_freq_factor = 4.0;
  a.rope_scaling.original_max_position_embeddings = 8192;
  if (name == "llama-3.2-1b") {
    a.hidden_size = 2048, a.num_hidden_layers = 16, a.num_attention_heads = 32, a.num_key_value_heads = 8;
    a.intermediate_size = 8192, a.head_dim = 64, a.tie_word_embeddings = true;
  } else if (name == "llama-3.1-8b") {
    a.hidden_size = 4096, a.num_hidden_layers = 32, a.num_attention_heads = 32, a.num_key_value_heads = 8;
    a.intermediate_size = 14336, a.head_dim = 128, a.tie_word_embeddings = false;
  } else {
    throw Error("unknown shape " + name + " (llama-3.2-1b, llama-3.1-8b)");
  }
  a.layer_types.assign(a.num_hidden_layers, "full_attention");
  return a;
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int prompt = 512, gen = 128, long_ctx = 8192, runs = 3;
  bool f32_kv = false;
  std::vector<std::string> shapes;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--prompt" && i + 1 < argc) prompt = std::stoi(argv[++i]);
    else if (s == "--gen" && i + 1 < argc) gen = std::stoi(argv[++i]);
    else if (s == "--long" && i + 1 < argc) long_ctx = std::stoi(argv[++i]);
    else if (s == "--runs" && i + 1 < argc) runs = std::stoi(argv[++i]);
    else if (s == "--f32-kv") f32_kv = true;
    else shapes.push_back(s);
  }
  if (shapes.empty()) shapes = {"llama-3.2-1b", "llama-3.1-8b"};
  try {
    if (cuda_device_count() == 0) {
      std::printf("skipped: no GPU\n");
      return 0;
    }
    const double bw = cuda_copy_bandwidth(0, size_t{2} << 30);
    std::printf("device-to-device copy: %.0f GB/s (read + write)\n", bw / 1e9);
    for (const std::string& name : shapes) {
      const ModelArgs a = shape(name);
      CudaOptions o;
      o.bf16_kv = !f32_kv;
      auto model = make_cuda_model_random(a, DType::BF16, 42, o);
      const CudaMemory mem = cuda_memory(*model);
      const int64_t H = a.hidden_size, I = a.intermediate_size, D = a.head_dim;
      const int64_t layer = H * (a.num_attention_heads + 2 * a.num_key_value_heads) * D + a.num_attention_heads * D * H + 3 * H * I;
      const double lm_head = static_cast<double>(a.vocab_size) * H;
      // Bytes one decode step must read: every layer weight, lm_head (the tied table counts once).
      const double step_bytes = 2.0 * (static_cast<double>(layer) * a.num_hidden_layers + lm_head);
      std::mt19937 rng(7);
      std::vector<int32_t> ids(prompt);
      for (auto& t : ids) t = static_cast<int32_t>(rng() % a.vocab_size);
      Sampler greedy(SamplingParams{});

      std::vector<double> pp, tg;
      size_t kv_bytes = 0;
      for (int r = 0; r < runs + 1; ++r) {  // first run warms up (graph capture, cuBLAS heuristics)
        auto seq = model->new_sequence(std::nullopt);
        SequenceTokens in{ids, seq.get()};
        double t0 = now();
        std::vector<float> logits = model->forward({&in, 1}, false);
        double t1 = now();
        int32_t tok = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        tok = model->decode(*seq, tok, greedy);  // first step (may capture the graph) not timed
        double t2 = now();
        for (int g = 0; g < gen; ++g) tok = model->decode(*seq, tok, greedy);
        double t3 = now();
        kv_bytes = seq->nbytes();
        if (r > 0) {
          pp.push_back(prompt / (t1 - t0));
          tg.push_back(gen / (t3 - t2));
        }
      }
      // Long context: decode at long_ctx cached tokens (random cache contents, no prefill).
      double tg_long = 0;
      if (long_ctx > 0) {
        std::vector<double> v;
        for (int r = 0; r < 2; ++r) {
          auto seq = model->new_sequence(std::nullopt);
          cuda_fill_sequence(*model, *seq, long_ctx, 3);
          int32_t tok = model->decode(*seq, 1, greedy);
          double t0 = now();
          for (int g = 0; g < gen; ++g) tok = model->decode(*seq, tok, greedy);
          v.push_back(gen / (now() - t0));
        }
        tg_long = *std::max_element(v.begin(), v.end());
      }
      const double pp_m = median(pp), tg_m = median(tg);
      const double flops = 2.0 * static_cast<double>(layer) * a.num_hidden_layers * prompt + 2.0 * lm_head;
      const double pp_tflops = flops * pp_m / prompt / 1e12;
      const double floor_tps = bw / step_bytes;
      std::printf("%-13s weights %.2f GB  workspace %.1f MB  kv(%d ctx) %.1f MB\n", name.c_str(), mem.weights / 1e9,
                  mem.workspace / 1e6, prompt + gen, kv_bytes / 1e6);
      std::printf("%-13s pp%d %9.0f tok/s (%.0f TFLOP/s)  tg%d %7.1f tok/s (%.0f GB/s = %.0f%% of copy bw; floor %.0f tok/s)  tg@%d %7.1f tok/s (%.0f%% of tg)\n",
                  name.c_str(), prompt, pp_m, pp_tflops, gen, tg_m, tg_m * step_bytes / 1e9, 100.0 * tg_m / floor_tps, floor_tps,
                  long_ctx, tg_long, tg_m > 0 ? 100.0 * tg_long / tg_m : 0.0);
      std::printf("{\"bench\":\"cpplm-cuda\",\"shape\":\"%s\",\"pp\":%d,\"pp_tps\":%.1f,\"pp_tflops\":%.1f,\"tg\":%d,\"tg_tps\":%.2f,"
                  "\"tg_gbps\":%.1f,\"copy_gbps\":%.1f,\"tg_long_ctx\":%d,\"tg_long_tps\":%.2f,\"weights_bytes\":%zu,\"workspace_bytes\":%zu}\n",
                  name.c_str(), prompt, pp_m, pp_tflops, gen, tg_m, tg_m * step_bytes / 1e9, bw / 1e9, long_ctx, tg_long, mem.weights,
                  mem.workspace);
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cuda_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
