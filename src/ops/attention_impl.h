// Internals shared by the attention paths (attention.cpp: one query token per task;
// attention_blocks.cpp: blocks of query tokens for prefill).
#pragma once
#include "backends/cpu/kernels.h"
#include "core/kv_index.h"
#include "ops/attention.h"

namespace cpplm::attn {

// Row of (head, pos) in the cache's rows: [kv_heads, capacity], or a paged pool's blocks.
inline int64_t slot(const KVView& c, int head, int pos) {
  const int s = kv_slot(pos, c.max_size, c.keep);
  if (!c.blocks) return static_cast<int64_t>(head) * c.capacity + s;
  return (static_cast<int64_t>(c.blocks[s / c.block_size]) * c.kv_heads + head) * c.block_size + s % c.block_size;
}

// Whether the key at position j is visible from the query at position pos.
inline bool visible(const AttentionParams& p, int pos, int j) { return kv_visible(j, pos, p.window, p.keep); }

// The cache's keys or values as a weight matrix [rows, head_dim] in their stored type (slot() rows).
cpu::MatRef kv_matrix(const KVView& c, bool value);
// Rows [s, s + cnt) of such a matrix.
cpu::MatRef kv_rows(const cpu::MatRef& all, int64_t s, int cnt);

// Prefill: blocks of query tokens × the GQA group as one matrix of query rows (p.n >= kMinBlockTokens).
constexpr int kMinBlockTokens = 16;
void attention_blocks(const AttentionParams& p, const float* q, const float* k_new, const float* v_new, const KVView& cache,
                      float* out);

}  // namespace cpplm::attn
