// Scaled dot-product attention over a KV cache for one sequence (streaming softmax, no n×n scores).
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace cpplm {

// Where the cached keys/values of one layer live: rows [kv_heads, capacity, head_dim] of `type`,
// with positions mapped to slots by kv_slot (core/kv_index.h: a ring beyond `keep` when max_size > 0).
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
  int offset = 0;  // cached positions are [.., offset)
  // Paged storage (model/kv_pool.h): slot s lives in block blocks[s / block_size], whose rows are
  // [kv_heads, block_size] from row blocks[..]·kv_heads·block_size; `rows` is the pool's row count.
  // Unpaged (blocks null): rows [kv_heads, capacity].
  const int32_t* blocks = nullptr;
  int block_size = 0;
  int64_t rows = 0;
};

// Row `row` of [kv_heads, capacity] (keys, or values when `value`) as head_dim f32 values.
void kv_load_row(const KVView& c, bool value, int64_t row, float* out);

struct AttentionParams {
  int n = 0;  // new tokens, at positions offset .. offset+n-1
  int num_heads = 0, num_kv_heads = 0, head_dim = 0;
  float scale = 1.0f;
  int window = 0;  // LayerPlan::window and ::keep: key j visible from query p iff
  int keep = 0;    // kv_visible(j, p, window, keep) (core/kv_index.h)
};

// out [n, num_heads, head_dim] = softmax(q kᵀ · scale + mask) v, causal. q [n, num_heads,
// head_dim]; k_new, v_new [n, num_kv_heads, head_dim] are the new tokens' keys/values (not
// yet in the cache). GQA: query head h reads kv head h / (num_heads / num_kv_heads).
void attention(const AttentionParams& p, const float* q, const float* k_new, const float* v_new, const KVView& cache, float* out);

}  // namespace cpplm
