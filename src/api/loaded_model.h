// A model loaded for the tools (benchmarks, the server): a checkpoint folder or random weights of a
// published shape, on the CPU or the GPU, with what the reports say about it.
#pragma once
#include <memory>
#include <string>

#include "api/tools.h"
#include "core/dtype.h"
#include "io/config.h"
#include "runtime/language_model.h"
#include "sampling/sampler.h"

namespace cpplm::tools {

struct LoadedModel {
  std::unique_ptr<LanguageModel> lm;
  bool gpu = false;   // on the GPU
  bool ggml = false;  // weights in llama.cpp's block formats (a GGUF file or random ones)
  ModelArgs args;
  DType wtype = DType::BF16;
  std::string name, backend;
  double size_bytes = 0, params = 0;
  size_t workspace = 0;
};

// Loads what `spec` names (BenchSpec: model_dir or shape + dtype, device "cpu", "cuda" or "auto":
// the GPU when one is visible).
LoadedModel load_model(const BenchSpec& spec);
// Weight bytes one decode step reads (the roofline of `cpplm bench`).
double decode_weight_bytes(const LoadedModel& l);
// The sampling a benchmark's generated tokens use (BenchSpec's temp, top_p, top_k), with this seed.
SamplingParams bench_sampling(const BenchSpec& spec, uint64_t seed);

}  // namespace cpplm::tools
