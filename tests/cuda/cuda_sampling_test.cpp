// Sampling on the device (backends/cuda/sample.cu, runtime/cuda/cuda_sampling.h) against the host's
// Sampler on the same logits: the same parameters, seeds and histories give the same tokens, with
// ties, penalties, logit bias and non-finite logits; and a model's seeded decode (alone and batched)
// gives the same tokens sampled on the device as on the host. Skipped with "skipped: no GPU".
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/device_ops.h"
#include "cuda_test_util.h"
#include "runtime/cuda/cuda_sampling.h"
#include "sampling/sampler.h"

namespace cpplm {
namespace {

struct SampleCase {
  const char* name;
  SamplingParams p;
  float tie_step;  // > 0: logits rounded to multiples of this (many ties)
};

std::vector<SampleCase> sample_cases() {
  auto P = [](float temp, int top_k, float top_p, float min_p) {
    SamplingParams p;
    p.temp = temp, p.top_k = top_k, p.top_p = top_p, p.min_p = min_p;
    return p;
  };
  std::vector<SampleCase> c = {
      {"temp1", P(1.0f, 0, 1.0f, 0.0f), 0},        {"temp0.7_topk40", P(0.7f, 40, 1.0f, 0.0f), 0},
      {"topp0.9", P(1.0f, 0, 0.9f, 0.0f), 0},      {"topp0.01", P(1.0f, 0, 0.01f, 0.0f), 0},
      {"minp0.05", P(0.9f, 0, 1.0f, 0.05f), 0},    {"all_filters", P(1.3f, 50, 0.8f, 0.02f), 0},
      {"topk1", P(1.0f, 1, 1.0f, 0.0f), 0},        {"ties_topk", P(1.0f, 7, 1.0f, 0.0f), 0.5f},
      {"ties_topp", P(1.0f, 0, 0.5f, 0.0f), 0.5f}, {"ties_all", P(0.8f, 100, 0.7f, 0.01f), 0.25f},
  };
  SamplingParams pen = P(0.0f, 0, 1.0f, 0.0f);  // greedy after the edits
  pen.repetition_penalty = 1.3f, pen.presence_penalty = 0.5f, pen.frequency_penalty = 0.3f;
  pen.logit_bias = {{5, 2.0f}, {17, -1.5f}, {5, 0.25f}, {-3, 9.0f}, {1 << 30, 9.0f}};
  c.push_back({"greedy_penalties", pen, 0});
  SamplingParams pen_t = pen;
  pen_t.temp = 0.8f, pen_t.top_p = 0.95f;
  c.push_back({"sampled_penalties", pen_t, 0});
  return c;
}

// Rows of random logits (normal, scale 3, a few large), sampled by host and device samplers built
// alike; each row's samplers first see the same prompt and generated tokens.
TEST(CudaSampling, MatchesHostSampler) {
  SKIP_WITHOUT_GPU();
  cuda::CudaContext ctx(0);
  for (int V : {1000, 128256}) {
    for (const SampleCase& c : sample_cases()) {
      constexpr int kRows = 24, kSteps = 3;
      std::mt19937 rng(V + 7);
      std::normal_distribution<float> normal(0.0f, 3.0f);
      std::vector<std::unique_ptr<Sampler>> host, dev;
      for (int r = 0; r < kRows; ++r) {
        SamplingParams p = c.p;
        p.seed = 1000 + r;
        host.push_back(std::make_unique<Sampler>(p));
        dev.push_back(std::make_unique<Sampler>(p));
        for (int t = 0; t < 30; ++t) {
          const int32_t tok = (r * 131 + t * 17) % 64;  // repeats inside the low ids the bias touches
          host.back()->accept(tok), dev.back()->accept(tok);
          if (t % 3 == 0) host.back()->accept_sampled(tok), dev.back()->accept_sampled(tok);
        }
      }
      cuda::DeviceBuffer d_logits(static_cast<size_t>(kRows) * V * sizeof(float));
      cuda::DeviceSampling sampling;
      int mismatches = 0;
      for (int step = 0; step < kSteps; ++step) {
        std::vector<float> logits(static_cast<size_t>(kRows) * V);
        for (float& v : logits) {
          v = normal(rng);
          if (c.tie_step > 0) v = std::round(v / c.tie_step) * c.tie_step;
        }
        for (int r = 0; r < kRows; ++r) logits[static_cast<size_t>(r) * V + (r * 977 + step) % V] += 12.0f;
        cuda::upload(d_logits.data(), logits.data(), logits.size() * sizeof(float));
        sampling.clear();
        for (int r = 0; r < kRows; ++r) sampling.add(*dev[r], r);
        sampling.enqueue(ctx, d_logits.as<float>(), V);
        ctx.sync();
        for (int r = 0; r < kRows; ++r) {
          std::vector<float> row(logits.begin() + static_cast<size_t>(r) * V, logits.begin() + static_cast<size_t>(r + 1) * V);
          const int32_t want = host[r]->sample(row);
          const int32_t got = sampling.take(r);
          if (got != want) {
            ++mismatches;
            ADD_FAILURE() << c.name << " V=" << V << " step " << step << " row " << r << ": device " << got << ", host " << want;
            dev[r]->accept_sampled(want);  // keep the histories alike
          }
        }
      }
      EXPECT_EQ(mismatches, 0) << c.name << " V=" << V;
    }
  }
}

TEST(CudaSampling, NonFiniteLogits) {
  SKIP_WITHOUT_GPU();
  cuda::CudaContext ctx(0);
  constexpr int V = 3000;
  std::vector<float> logits(3 * V, 0.5f);
  logits[V + 17] = NAN;
  logits[2 * V + 2999] = INFINITY;
  cuda::DeviceBuffer d(logits.size() * sizeof(float));
  cuda::upload(d.data(), logits.data(), logits.size() * sizeof(float));
  SamplingParams p;
  p.temp = 1.0f;
  Sampler a(p), b(p), c(p);
  cuda::DeviceSampling s;
  s.add(a, 0), s.add(b, 1), s.add(c, 2);
  s.enqueue(ctx, d.as<float>(), V);
  ctx.sync();
  EXPECT_GE(s.take(0), 0);
  EXPECT_EQ(s.take(1), -1);
  EXPECT_EQ(s.take(2), -1);
}

// The bundled model's seeded continuations: CudaOptions::device_sampling off samples the same GPU
// logits on the host; alone (decode) and batched (step_batch, rows of different parameters).
TEST(CudaSampling, ModelDecodeMatchesHostSampling) {
  SKIP_WITHOUT_GPU();
  auto model = Model::load(models_dir() + "/llama-6m-kjv-fortunes");
  CudaOptions host_opts;
  host_opts.device_sampling = false;
  auto on_gpu = make_cuda_model(*model), on_host_sampler = make_cuda_model(*model, host_opts);
  const int V = on_gpu->args().vocab_size;
  const std::vector<int32_t> prompt = prompt_tokens(24, V, 37, 5);
  std::vector<SamplingParams> params(4);
  params[0].temp = 1.0f;
  params[1].temp = 0.8f, params[1].top_p = 0.9f, params[1].repetition_penalty = 1.2f;
  params[2].temp = 1.2f, params[2].top_k = 20, params[2].min_p = 0.05f, params[2].frequency_penalty = 0.5f;
  params[3].temp = 0.0f, params[3].presence_penalty = 1.0f;
  for (size_t i = 0; i < params.size(); ++i) params[i].seed = 42 + i;
  auto continuations = [&](bool device, bool batched) {
    LanguageModel* gpu = device ? on_gpu.get() : on_host_sampler.get();
    std::vector<std::unique_ptr<SequenceState>> seqs;
    std::vector<std::unique_ptr<Sampler>> samplers;
    std::vector<std::vector<int32_t>> out(params.size());
    std::vector<int32_t> last(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      seqs.push_back(gpu->make_sequence({}));
      samplers.push_back(std::make_unique<Sampler>(params[i]));
      for (int32_t t : prompt) samplers.back()->accept(t);
      std::vector<float> logits = run(*gpu, *seqs.back(), prompt, false);
      last[i] = samplers.back()->sample(logits);
    }
    for (int step = 0; step < 40; ++step) {
      if (batched) {
        std::vector<DecodeRow> rows(params.size());
        for (size_t i = 0; i < params.size(); ++i)
          rows[i].state = seqs[i].get(), rows[i].token = last[i], rows[i].sampler = samplers[i].get();
        step_batch(*gpu, rows);
        for (size_t i = 0; i < params.size(); ++i) out[i].push_back(last[i] = rows[i].next);
      } else {
        for (size_t i = 0; i < params.size(); ++i) out[i].push_back(last[i] = gpu->decode(*seqs[i], last[i], *samplers[i]));
      }
    }
    return out;
  };
  for (bool batched : {false, true}) {
    const auto on_host = continuations(false, batched), on_device = continuations(true, batched);
    for (size_t i = 0; i < params.size(); ++i)
      EXPECT_EQ(on_device[i], on_host[i]) << "row " << i << (batched ? " batched" : " alone");
  }
}

}  // namespace
}  // namespace cpplm
