// Internals shared by the attention paths (attention.cpp: one query token per task;
// attention_blocks.cpp: blocks of query tokens for prefill).
#pragma once
#include "backends/cpu/kernels.h"
#include "ops/attention.h"

namespace cpplm::attn {

// Row of (head, pos) in the cache's [kv_heads, capacity] rows (ring beyond `keep` when bounded).
inline int64_t slot(const KVView& c, int head, int pos) {
  const int s = (c.max_size == 0 || pos < c.keep) ? pos : c.keep + (pos - c.keep) % (c.max_size - c.keep);
  return static_cast<int64_t>(head) * c.capacity + s;
}

// Keys at query position `pos`: j <= pos, within the window or among the kept sinks.
inline bool visible(const AttentionParams& p, int pos, int j) {
  return j <= pos && (p.window == 0 || j > pos - p.window || j < p.keep);
}

// The cache's keys or values as a weight matrix [kv_heads·capacity, head_dim] in their stored type.
cpu::MatRef kv_matrix(const KVView& c, bool value);
// Rows [s, s + cnt) of such a matrix.
cpu::MatRef kv_rows(const cpu::MatRef& all, int64_t s, int cnt);

// Prefill: blocks of query tokens × the GQA group as one matrix of query rows (p.n >= kMinBlockTokens).
constexpr int kMinBlockTokens = 16;
void attention_blocks(const AttentionParams& p, const float* q, const float* k_new, const float* v_new,
                      const KVView& cache, float* out);

}  // namespace cpplm::attn
