// The layer plan: each layer's attention window, K/V ring, sink tokens, attention scale and K/V
// storage for one sequence, computed once from ModelArgs and the cache options. Every executor
// (CPU, CUDA) reads it; none re-derives any of it.
#pragma once
#include <optional>
#include <vector>

#include "core/dtype.h"
#include "core/kv_index.h"
#include "io/config.h"

namespace cpplm {

// How a new sequence keeps its keys and values.
struct CacheOptions {
  std::optional<int> max_kv_size;  // rotating bound for full-attention layers (mlx-lm max_kv_size)
  // 0: the model's float dtype; 8: 8-bit affine codes (mlx-lm QuantizedKVCache, groups of 64);
  // 16: the model's 16-bit dtype (f16 for f16 models, else bf16); 32: f32.
  int kv_bits = 0;
};

struct LayerPlan {
  int sliding_window = 0;  // the model's window for this layer (0 = full attention)
  int max_size = 0;        // cache slots of a ring (mlx-lm RotatingKVCache max_size); 0 = unbounded
  int keep = 0;            // positions a ring keeps in place (attention sinks)
  int window = 0;          // keys visible within this many positions (kv_visible); 0 = all
  float scale = 1.0f;      // softmax scale 1/sqrt(head_dim) (mlx-lm Attention.scale)
};

struct SequencePlan {
  KVType kv_type = KVType::F32;
  std::vector<LayerPlan> layers;

  // Whether a sequence at `offset` positions can roll back to `target` (every layer's ring).
  bool can_trim(int offset, int target) const {
    for (const LayerPlan& l : layers)
      if (!kv_can_trim(offset, target, l.max_size)) return false;
    return !layers.empty() || (target >= 0 && target <= offset);
  }
};

// K/V storage for a requested kv_bits (CacheOptions) and the model's float dtype; throws Error
// for other bit counts.
KVType kv_storage(int kv_bits, DType model_dtype);

// The plan of a new sequence. Sliding layers get a ring of their window (bounded further by
// max_kv_size); with max_kv_size, full layers get a ring of that size keeping 4 sink tokens
// (none when it is 8 or less), as mlx-lm's make_prompt_cache does. Throws Error for kv_bits
// not in {0, 8, 16, 32} or max_kv_size < 1. args.layer_types must be resolved.
SequencePlan plan_sequence(const ModelArgs& args, DType model_dtype, const CacheOptions& opts);

}  // namespace cpplm
