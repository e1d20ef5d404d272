// Scaled dot-product attention over a KV cache for one sequence (streaming softmax, no n×n scores).
#pragma once
#include <cstdint>

namespace cpplm {

// How a KV cache stores its rows: floats, or mlx-style 8-bit affine codes (row = scale·q + bias
// per group of `group` elements, f32 scales and biases; mlx-lm QuantizedKVCache with bits 8).
enum class KVType : uint8_t { F32, BF16, F16, Q8 };
const char* kv_type_name(KVType t);  // "f32", "bf16", "f16", "q8"

// Where the cached keys/values of one layer live: rows [kv_heads, capacity, head_dim] of `type`,
// with positions mapped to slots as KVCache does (ring beyond `keep` when max_size > 0).
struct KVView {
  KVType type = KVType::F32;
  const void* k = nullptr;  // F32: float, BF16/F16: uint16_t, Q8: uint8_t codes
  const void* v = nullptr;
  // Q8 only: [kv_heads, capacity, head_dim / group] f32 each.
  const float* k_scales = nullptr;
  const float* k_biases = nullptr;
  const float* v_scales = nullptr;
  const float* v_biases = nullptr;
  int group = 0;
  int kv_heads = 0, head_dim = 0;
  int capacity = 0;
  int max_size = 0;  // 0 = unbounded
  int keep = 0;
  int offset = 0;    // cached positions are [.., offset)
};

// Row `row` of [kv_heads, capacity] (keys, or values when `value`) as head_dim f32 values.
void kv_load_row(const KVView& c, bool value, int64_t row, float* out);

struct AttentionParams {
  int n = 0;               // new tokens, at positions offset .. offset+n-1
  int num_heads = 0, num_kv_heads = 0, head_dim = 0;
  float scale = 1.0f;
  int window = 0;          // keys visible iff pos > query_pos - window (0 = no limit) ...
  int keep = 0;            // ... or pos < keep (attention sinks of a rotating cache)
};

// out [n, num_heads, head_dim] = softmax(q kᵀ · scale + mask) v, causal. q [n, num_heads,
// head_dim]; k_new, v_new [n, num_kv_heads, head_dim] are the new tokens' keys/values (not
// yet in the cache). GQA: query head h reads kv head h / (num_heads / num_kv_heads).
void attention(const AttentionParams& p, const float* q, const float* k_new, const float* v_new,
               const KVView& cache, float* out);

}  // namespace cpplm
