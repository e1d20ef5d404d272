// The CUDA backend against transformers' references (every hf-reference fixture) and the CPU model;
// skipped with "skipped: no GPU" where no GPU is visible.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/json_file.h"
#include "cuda_test_util.h"
#include "io/safetensors.h"
#include "runtime/cpu_model.h"
#include "runtime/cuda/cuda_model.h"
#include "runtime/generate.h"

namespace cpplm {
namespace {

std::vector<double> as_f64(const TensorView& t) {
  std::vector<double> out(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (t.dtype == DType::F64) out[i] = t.as<double>()[i];
    else if (t.dtype == DType::I64) out[i] = static_cast<double>(t.as<int64_t>()[i]);
    else if (t.dtype == DType::F32) out[i] = t.as<float>()[i];
  }
  return out;
}

double rel_err(const float* a, const double* ref, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(a[i]) - ref[i];
    if (std::isnan(a[i])) return INFINITY;
    num += d * d;
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

int argmax(const float* v, int n) { return static_cast<int>(std::max_element(v, v + n) - v); }

struct Case {
  std::string name, config;
  bool tensor_cores;  // gemm_min_rows = 1 and bf16 K/V: the fast configuration
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name << (c.tensor_cores ? " (tensor cores)" : ""); }

class CudaFixture : public ::testing::TestWithParam<Case> {};

TEST_P(CudaFixture, MatchesTransformers) {
  SKIP_WITHOUT_GPU();
  const Case& c = GetParam();
  const std::string dir = data_dir() + "/hf-reference/" + c.name;
  auto cpu = Model::load(dir, c.config);
  CudaOptions opts;
  if (c.tensor_cores) opts.gemm_min_rows = 1;
  const CacheOptions cache{std::nullopt, c.tensor_cores ? 16 : 0};  // tensor-core attention reads bf16 K/V
  auto gpu = make_cuda_model(*cpu, opts);
  SafetensorsFile exp(dir + "/expected.safetensors");
  const auto& et = exp.tensors();
  const int T = static_cast<int>(et.at("input_ids").dim(1)), V = cpu->args().vocab_size;
  const std::vector<double> ids = as_f64(et.at("input_ids")), logits = as_f64(et.at("logits"));
  // Issue 6: 1e-3 for f32 storage, 1e-2 for bf16/f16 (and for bf16 activations / caches).
  const double tol = cpu->model_dtype() == DType::F32 && !c.tensor_cores ? 1e-3 : 1e-2;
  auto row = [&](int r, int n) {
    std::vector<int32_t> t(n);
    for (int i = 0; i < n; ++i) t[i] = static_cast<int32_t>(ids[static_cast<size_t>(r) * T + i]);
    return t;
  };

  // Prefill: each row alone, then both rows (different lengths) in one batch.
  for (int r = 0; r < 2; ++r) {
    auto s = gpu->make_sequence(cache);
    std::vector<int32_t> t = row(r, T);
    SequenceTokens in{t, s.get()};
    std::vector<float> lg = gpu->forward({&in, 1}, /*all_logits=*/true);
    const double e = rel_err(lg.data(), logits.data() + static_cast<size_t>(r) * T * V, static_cast<size_t>(T) * V);
    std::printf("[ %s %s%s ] GPU prefill logits row %d: rel err %.2e (tolerance %.0e)\n", c.name.c_str(), c.config.c_str(),
                c.tensor_cores ? " tensor-cores" : "", r, e, tol);
    EXPECT_LE(e, tol) << "prefill row " << r;
  }
  {
    auto s0 = gpu->make_sequence(cache), s1 = gpu->make_sequence(cache);
    std::vector<int32_t> t0 = row(0, T), t1 = row(1, T - 5);
    SequenceTokens in[2] = {{t0, s0.get()}, {t1, s1.get()}};
    std::vector<float> both = gpu->forward(in, true);
    EXPECT_LE(rel_err(both.data(), logits.data(), static_cast<size_t>(T) * V), tol) << "batched row 0";
    // Row 1 alone (dynamic NTK frequencies depend on the length, so not the reference's row).
    auto s1b = gpu->make_sequence(cache);
    SequenceTokens one{t1, s1b.get()};
    std::vector<float> ref1 = gpu->forward({&one, 1}, true);
    std::vector<double> r1(ref1.begin(), ref1.end());
    EXPECT_LE(rel_err(both.data() + static_cast<size_t>(T) * V, r1.data(), r1.size()), tol) << "batched row 1";
  }

  // Greedy decoding: prefill, then device-side argmax decode steps (graph replay).
  const std::vector<double> greedy = as_f64(et.at("greedy_tokens"));
  const int G = static_cast<int>(greedy.size());
  for (bool graph : {true, false}) {
    CudaOptions o = opts;
    o.use_graph = graph;
    auto m = graph ? nullptr : make_cuda_model(*cpu, o);
    LanguageModel& lm = graph ? *gpu : *m;
    auto s = lm.make_sequence(cache);
    std::vector<int32_t> t = row(0, T);
    SequenceTokens in{t, s.get()};
    std::vector<float> lg = lm.forward({&in, 1}, false);
    Sampler sampler(SamplingParams{});
    std::vector<int32_t> gen = {argmax(lg.data(), V)};
    while (static_cast<int>(gen.size()) < G) gen.push_back(lm.decode(*s, gen.back(), sampler));
    int mismatches = 0;
    for (int i = 0; i < G; ++i) mismatches += gen[i] != static_cast<int>(greedy[i]);
    std::printf("[ %s%s ] greedy %s: %d of %d tokens differ\n", c.name.c_str(), c.tensor_cores ? " tensor-cores" : "",
                graph ? "graph" : "no graph", mismatches, G);
    if (!c.tensor_cores) {
      EXPECT_EQ(mismatches, 0) << (graph ? "graph" : "no graph");
    }
  }

  // One pass over prompt + generation (dynamic NTK differs by design: tests/data/README.md).
  if (c.name != "rope-dynamic-f32") {
    const std::vector<double> full = as_f64(et.at("full_sequence_logits"));
    std::vector<int32_t> seq = row(0, T);
    for (double g : greedy) seq.push_back(static_cast<int32_t>(g));
    auto s = gpu->make_sequence(cache);
    SequenceTokens in{seq, s.get()};
    std::vector<float> lg = gpu->forward({&in, 1}, true);
    const double e = rel_err(lg.data(), full.data(), full.size());
    std::printf("[ %s%s ] GPU full-sequence logits (%zu tokens): rel err %.2e\n", c.name.c_str(),
                c.tensor_cores ? " tensor-cores" : "", seq.size(), e);
    EXPECT_LE(e, tol) << "full_sequence_logits";
  }
}

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (const char* n : {"llama2-mha-f32", "llama3-gqa-bf16", "bias-headdim-f16", "rope-linear-f32", "rope-dynamic-f32",
                        "rope-yarn-f32", "rope-longrope-f32", "sharded-gqa-bf16", "mistral-swa-f32"}) {
    out.push_back({n, "config.json", false});
    out.push_back({n, "config.as_saved.json", false});
    out.push_back({n, "config.json", true});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(HfReference, CudaFixture, ::testing::ValuesIn(all_cases()), [](const auto& info) {
  std::string s =
      info.param.name + (info.param.config == "config.json" ? "_classic" : "_saved") + (info.param.tensor_cores ? "_tc" : "");
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
});

TEST(CudaSmallModel, GreedyMatchesTransformers) {
  SKIP_WITHOUT_GPU();
  const std::string dir = models_dir() + "/llama-6m-kjv-fortunes";
  auto cpu = Model::load(dir);
  auto gpu = make_cuda_model(*cpu);
  auto ref = parse_json_file(dir + "/reference.json");
  GenerateOptions opts;
  opts.max_tokens = 32;
  opts.eos_ids = gpu->args().eos_token_ids;
  int n = 0;
  for (const auto& g : ref["greedy"]) {
    std::vector<int32_t> prompt = g["prompt_ids"].get<std::vector<int32_t>>();
    std::vector<int32_t> want = g["greedy_ids"].get<std::vector<int32_t>>();
    PromptCache s;
    GenerationOutput out = generate(*gpu, s, prompt, opts);
    EXPECT_EQ(out.tokens, want) << g["prompt"];
    ++n;
  }
  EXPECT_EQ(n, 5);
}

// Rotating caches (--max-kv-size with sinks) in chunks longer than the ring: same logits as the CPU.
TEST(CudaSmallModel, RotatingCacheMatchesCpu) {
  SKIP_WITHOUT_GPU();
  const std::string dir = models_dir() + "/llama-6m-kjv-fortunes";
  CpuModel cpu(Model::load(dir));
  auto gpu = make_cuda_model(cpu.model());
  const int V = cpu.args().vocab_size;
  for (int max_kv : {16, 40}) {
    // f32 K/V on both sides: the comparison is of the kernels, not of cache rounding.
    auto sc = cpu.make_sequence({max_kv, 32}), sg = gpu->make_sequence({max_kv, 32});
    std::vector<int32_t> toks;
    for (int i = 0; i < 100; ++i) toks.push_back((i * 37 + 11) % V);
    for (int at = 0; at < 100; at += 25) {  // chunks of 25 > ring of 12 / 36
      std::span<const int32_t> chunk(toks.data() + at, 25);
      SequenceTokens ic{chunk, sc.get()}, ig{chunk, sg.get()};
      std::vector<float> a = cpu.forward({&ic, 1}, true), b = gpu->forward({&ig, 1}, true);
      std::vector<double> ad(a.begin(), a.end());
      EXPECT_LE(rel_err(b.data(), ad.data(), ad.size()), 1e-4) << "max_kv " << max_kv << " chunk at " << at;
    }
    Sampler s1(SamplingParams{}), s2(SamplingParams{});
    int32_t tc = 5, tg = 5;
    for (int step = 0; step < 40; ++step) {
      tc = cpu.decode(*sc, tc, s1);
      tg = gpu->decode(*sg, tg, s2);
      ASSERT_EQ(tc, tg) << "max_kv " << max_kv << " decode step " << step;
    }
    EXPECT_EQ(sc->offset(), sg->offset());
  }
}

TEST(CudaSmallModel, ReportsMemory) {
  SKIP_WITHOUT_GPU();
  auto cpu = Model::load(models_dir() + "/llama-6m-kjv-fortunes");
  auto gpu = make_cuda_model(*cpu);
  const CudaMemory m = cuda_memory(*gpu);
  std::printf("[ memory ] weights %.2f MB, workspace %.2f MB on %s\n", m.weights / 1e6, m.workspace / 1e6, gpu->device().c_str());
  EXPECT_GT(m.weights, 0u);
}

}  // namespace
}  // namespace cpplm
