// CudaModel internals shared by its weight upload (cuda_weights.cpp) and forward pass (cuda_model.cpp).
#pragma once
#include <memory>
#include <vector>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/kernels.h"
#include "model/rope_utils.h"
#include "runtime/cuda/cuda_model.h"

namespace cpplm::cuda {

// One projection on the device: weight [out, in] in its stored dtype, bias [out] f32 or null.
// Quantized (bits > 0): w holds the codes [out, in * bits / 32], sb the (scale, bias) pairs
// [out, in / group][2] of t (kernels.h GemvArgs), and t is also the dtype of prefill's GEMMs.
struct DevLinear {
  const void* w = nullptr;
  DType t = DType::BF16;
  int out = 0, in = 0;
  const float* bias = nullptr;
  int bits = 0, group = 0;
  const void* sb = nullptr;
  bool ggml = false;                         // codes repacked from a GGUF block format (GemvArgs::ggml_acts)
  ScaleLayout scales = ScaleLayout::kPairs;  // sb's layout (GemvArgs::scales)
  // Activations' dtype on the cuBLAS path: t, except for GGUF block formats (f16, as llama.cpp computes them).
  DType ct = DType::BF16;
};

struct DevLayer {
  DevLinear qkv;  // q, k, v rows stacked: [(heads + 2 kv_heads) * head_dim, hidden]
  DevLinear o;
  DevLinear gate_up;  // gate and up rows interleaved: [2 * intermediate, hidden]
  DevLinear down;
  const float* ln1 = nullptr;  // input_layernorm [hidden] f32
  const float* ln2 = nullptr;  // post_attention_layernorm
};

struct DevWeights {
  std::vector<DeviceBuffer> owned;
  size_t bytes = 0;
  DevLinear embed;  // [vocab, hidden]; also lm_head when tied
  const float* norm = nullptr;
  DevLinear lm_head;
  std::vector<DevLayer> layers;
};

// Uploads the bound weights of `m` (host mmap) or, when m is null, fills random ones of `dtype`.
DevWeights upload_weights(const CudaContext& ctx, const ModelArgs& args, const Model* m, DType dtype, uint64_t seed,
                          const std::function<void(size_t, size_t)>& progress);

}  // namespace cpplm::cuda
