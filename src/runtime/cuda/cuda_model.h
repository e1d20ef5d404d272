// The CUDA executor's entry points: a LanguageModel whose whole forward pass runs on one GPU (no CUDA headers here).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "model/llama.h"
#include "runtime/language_model.h"

namespace cpplm {

struct CudaOptions {
  int device = 0;
  // Chunks of at least this many tokens run their projections through cuBLAS tensor-core GEMMs
  // (activations rounded to the weight dtype); smaller ones keep f32 activations: with
  // small_chunk_gemm (and more than one token) as GEMMs of x's 16-bit hi and lo halves (f32 weights:
  // of x itself), else through the GEMV in passes of 8 rows. CPPLM_SMALL_CHUNK_GEMM=0 (or 1) turns
  // small_chunk_gemm off (on).
  int gemm_min_rows = 64;
  bool small_chunk_gemm = true;
  bool use_graph = true;  // decode steps replay a captured CUDA graph
  // Decode steps of several sequences (the server's batches, even of one) run as one batched step of
  // up to this many rows: GEMMs of exactly this many rows (padded) and one attention launch, so that a
  // row computes the same whatever else the batch holds. Its logits may differ from decode()'s alone
  // by the rounding of activations to the weight dtype. 0: rows decode one by one through decode().
  // Steps of one K/V type replay a graph per (rows, attention splits) when use_graph is set.
  int decode_batch_rows = 128;
  // K/V storage of sequences that ask for the model's (CacheOptions::kv_bits 0): 0 = the compute dtype, else
  // CacheOptions::kv_bits' values (GGUF block formats: 32, f32, which keeps llama.cpp's greedy tokens).
  int kv_bits = 0;
  // Decode attention over bf16 and 8-bit caches of head size 64 or 128 on tensor cores (queries and
  // softmax weights as bf16 hi/lo pairs, about 2^-17 of relative error per product; 8-bit rows
  // dequantized in f32 and rounded to bf16): a batched step's always, one sequence's decode() from
  // this cache capacity on (< 0: never). On an H200 (8B bf16) batched steps of 32–128 rows decode
  // 10–20 % faster; one sequence 3 % faster at 16k positions, 24 % at 64k, but 1 % slower at 8k and
  // 17 % at 512, hence the threshold. CPPLM_DECODE_TC=0 (or 1) in the environment turns it off
  // (on), CPPLM_DECODE_TC_MIN=N sets the capacity.
  bool decode_tensor_cores = true;
  int decode_tc_min_capacity = 16384;
  // Keys per split of a batched step's decode attention: a sequence of k keys takes ceil(k / this)
  // splits (at most 32), a function of its own length alone. 512 against 256 (the CUDA-core loop,
  // 2026-12-06): +4.5 % decode at 64 requests of 640 positions on the 8B (H100), 2 % less for one
  // request; 128: -9 % at 64. CPPLM_BATCH_SPLIT_KEYS=N sets it (at least 16).
  int decode_batch_split_keys = 512;
  // Decode rows that sample (temperature, filters, penalties, logit_bias) draw on the device and copy back
  // one id (runtime/cuda/cuda_sampling.h); off, or for rows that report logprobs, their logits come back
  // and the host samples. CPPLM_DEVICE_SAMPLING=0 (or 1) in the environment turns it off (on).
  bool device_sampling = true;
  // Fixed-shape prefill for the server (LanguageModel::fix_prefill_rows): its chunks of at most a
  // prefill chunk of tokens run GEMMs of exactly that many rows and the chunk attention kernels, so a
  // prompt resumes from any cached block with exactly the tokens of an uncached run. Off, the server
  // reuses cached K/V in whole prefill chunks only. CPPLM_FIXED_PREFILL=0 (or 1) turns it off (on).
  bool fixed_prefill = true;
  // Called while weights are uploaded: (bytes done, bytes total).
  std::function<void(size_t, size_t)> progress;
};

// GPUs visible to the CUDA runtime (0 when there is no driver or device).
int cuda_device_count();

// Uploads the bound weights of `model` (kept in their dtype) to the GPU; `model` may be dropped after.
// Throws Error when no GPU is visible or memory runs out.
std::unique_ptr<LanguageModel> make_cuda_model(const Model& model, const CudaOptions& opts = {});

// A model of `args`' shape with random weights of `dtype` made on the GPU (benchmarks).
// args.layer_types must be resolved (one entry per layer).
std::unique_ptr<LanguageModel> make_cuda_model_random(const ModelArgs& args, DType dtype, uint64_t seed,
                                                      const CudaOptions& opts = {});

// Device memory a CUDA model holds: weights and its own workspace (KV caches are per sequence).
struct CudaMemory {
  size_t weights = 0, workspace = 0;
};
CudaMemory cuda_memory(const LanguageModel& model);

// Benchmark helpers. Device-to-device copy bandwidth of `device` (bytes read + written per second,
// median of several copies of `bytes`).
double cuda_copy_bandwidth(int device, size_t bytes);
// Sets a CUDA sequence to `offset` tokens of random cached keys/values (decode timing at long
// context without its prefill).
void cuda_fill_sequence(LanguageModel& model, SequenceState& state, int offset, uint64_t seed);

}  // namespace cpplm
