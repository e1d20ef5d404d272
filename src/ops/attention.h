// Scaled dot-product attention over a KV cache for one sequence (streaming softmax, no n×n scores).
#pragma once

namespace cpplm {

// Where the cached keys/values of one layer live: [kv_heads, capacity, head_dim] f32, with
// positions mapped to slots as KVCache does (ring beyond `keep` when max_size > 0).
struct KVView {
  const float* k = nullptr;
  const float* v = nullptr;
  int capacity = 0;
  int max_size = 0;  // 0 = unbounded
  int keep = 0;
  int offset = 0;    // cached positions are [.., offset)
};

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
