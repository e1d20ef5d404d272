// Causal / sliding-window attention with an online softmax over the cache and the new tokens.
#include "ops/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "backends/cpu/kernels.h"
#include "core/thread_pool.h"
#include "ops/attention_impl.h"

namespace cpplm {
namespace attn {

// The cache's keys or values as a weight matrix [rows, head_dim] for the SIMD dequantizer.
cpu::MatRef kv_matrix(const KVView& c, bool value) {
  cpu::MatRef m;
  m.w = value ? c.v : c.k;
  m.m = c.blocks ? c.rows : static_cast<int64_t>(c.kv_heads) * c.capacity;
  m.k = c.head_dim;
  switch (c.type) {
    case KVType::BF16: m.dtype = DType::BF16; break;
    case KVType::F16: m.dtype = DType::F16; break;
    case KVType::Q8:
      m.bits = 8;
      m.group = c.group;
      m.scales = value ? c.v_scales : c.k_scales;
      m.biases = value ? c.v_biases : c.k_biases;
      m.sb_dtype = DType::F32;
      break;
    default: break;
  }
  m.exact = true;  // scores and value sums on f32 activations (no int8 or bf16 dot products)
  return m;
}

cpu::MatRef kv_rows(const cpu::MatRef& all, int64_t s, int cnt) {
  cpu::MatRef r = all;
  r.m = cnt;
  if (all.quantized()) {
    const int64_t groups = all.k / all.group;
    r.w = static_cast<const uint8_t*>(all.w) + s * all.k;
    r.scales = static_cast<const float*>(all.scales) + s * groups;
    r.biases = static_cast<const float*>(all.biases) + s * groups;
  } else {
    r.w = static_cast<const char*>(all.w) + s * all.k * static_cast<int64_t>(dtype_size(all.dtype));
  }
  return r;
}

}  // namespace attn

using attn::kv_matrix;
using attn::kv_rows;
using attn::slot;

void kv_load_row(const KVView& c, bool value, int64_t row, float* out) {
  if (c.type == KVType::F32) {
    std::memcpy(out, static_cast<const float*>(value ? c.v : c.k) + row * c.head_dim, c.head_dim * sizeof(float));
    return;
  }
  cpu::kernels().dequant(kv_matrix(c, value), row, 0, c.head_dim, out);
}

// Work mapping: one (query token, kv head) pair per task, threads over all pairs; the task
// serves every query head of the kv head's GQA group, so each cached K/V row is read once per
// group. Keys are visited in tiles of kTile. Scores of cached keys come from the matmul kernel
// with the tile's keys as the weight matrix in their stored type (bf16 / f16 / 8-bit read
// directly) and the group's (pre-scaled) queries as the tokens; new keys use dot products. Then,
// per query head, one rescale of its accumulator per tile (online softmax, no n×n scores) and
// the tile's values accumulated (dequantized once per tile when the cache is not f32).
void attention(const AttentionParams& p, const float* q, const float* k_new, const float* v_new, const KVView& cache,
               float* out) {
  if (p.n >= attn::kMinBlockTokens) return attn::attention_blocks(p, q, k_new, v_new, cache, out);
  constexpr int kTile = 64, kHeadsPerCall = 8;  // matmul takes < 16 tokens on its exact path
  const int d = p.head_dim, group = p.num_heads / p.num_kv_heads;
  const int64_t tasks = static_cast<int64_t>(p.n) * p.num_kv_heads;
  const cpu::Kernels& kern = cpu::kernels();
  const bool f32_cache = cache.type == KVType::F32;
  const cpu::MatRef kmat = kv_matrix(cache, false), vmat = kv_matrix(cache, true);
  const int64_t work = static_cast<int64_t>(p.n) * p.num_heads * (cache.offset + p.n) * d;
  const int64_t chunk = work >= (1 << 15) ? chunk_for(tasks, 4, 1) : tasks;
  parallel_for(tasks, chunk, [&](int64_t task0, int64_t task1) {
    std::vector<float> acc(static_cast<size_t>(group) * d), m(group), l(group), qs(static_cast<size_t>(group) * d);
    std::vector<float> score(static_cast<size_t>(group) * kTile), vbuf(f32_cache ? 0 : kTile * d);
    const float* krow[kTile];
    const float* vrow[kTile];
    for (int64_t task = task0; task < task1; ++task) {
      const int i = static_cast<int>(task / p.num_kv_heads), kvh = static_cast<int>(task % p.num_kv_heads);
      const int pos = cache.offset + i;
      const float* qg = q + (static_cast<int64_t>(i) * p.num_heads + kvh * group) * d;  // the group's query heads
      for (size_t e = 0; e < qs.size(); ++e) qs[e] = qg[e] * p.scale;
      std::fill(m.begin(), m.end(), -INFINITY);
      std::fill(l.begin(), l.end(), 0.0f);
      std::fill(acc.begin(), acc.end(), 0.0f);
      // Scores of cached keys [j, j + len) (consecutive slots) into score[h][t .. t + len), values into vrow.
      auto cached_run = [&](int j, int len, int t) {
        const int64_t s = slot(cache, kvh, j);
        const cpu::MatRef kr = kv_rows(kmat, s, len);
        for (int h0 = 0; h0 < group; h0 += kHeadsPerCall)
          kern.matmul(kr, qs.data() + static_cast<int64_t>(h0) * d, std::min(kHeadsPerCall, group - h0), 0, len,
                      score.data() + static_cast<int64_t>(h0) * kTile + t, kTile);
        for (int r = 0; r < len; ++r) {
          if (f32_cache) {
            vrow[t + r] = static_cast<const float*>(cache.v) + (s + r) * d;
          } else {
            kern.dequant(vmat, s + r, 0, d, vbuf.data() + (t + r) * d);
            vrow[t + r] = vbuf.data() + (t + r) * d;
          }
        }
      };
      // Visits keys [j0, j1) in tiles.
      auto visit = [&](int j0, int j1) {
        for (int t0 = j0; t0 < j1; t0 += kTile) {
          const int cnt = std::min(kTile, j1 - t0);
          int t = 0;
          while (t < cnt && t0 + t < cache.offset) {  // cached keys, in runs of consecutive slots
            int len = 1;
            const int64_t s = slot(cache, kvh, t0 + t);
            while (t + len < cnt && t0 + t + len < cache.offset && slot(cache, kvh, t0 + t + len) == s + len) ++len;
            cached_run(t0 + t, len, t);
            t += len;
          }
          const int first_new = t;
          for (; t < cnt; ++t) {  // this call's own keys
            const int64_t row = static_cast<int64_t>(t0 + t - cache.offset) * p.num_kv_heads + kvh;
            krow[t] = k_new + row * d;
            vrow[t] = v_new + row * d;
          }
          for (int g = 0; g < group; ++g) {
            float* sc = score.data() + static_cast<size_t>(g) * kTile;
            if (first_new < cnt)
              kern.dots(qs.data() + static_cast<int64_t>(g) * d, krow + first_new, cnt - first_new, d, 1.0f, sc + first_new);
            float* ag = acc.data() + static_cast<size_t>(g) * d;
            float tile_max = -INFINITY;
            for (int j = 0; j < cnt; ++j) tile_max = std::max(tile_max, sc[j]);
            if (tile_max > m[g]) {  // rescale what was accumulated under the old maximum
              const float r = std::exp(m[g] - tile_max);
              l[g] *= r;
              kern.scale(ag, r, d);
              m[g] = tile_max;
            }
            l[g] += kern.exp_sum(sc, cnt, m[g]);
            kern.axpys(sc, vrow, cnt, d, ag);
          }
        }
      };
      const int start = kv_window_start(pos, p.window);
      visit(0, kv_sinks_end(start, p.keep));
      visit(start, pos + 1);
      for (int g = 0; g < group; ++g) {
        float* o = out + (static_cast<int64_t>(i) * p.num_heads + kvh * group + g) * d;
        for (int e = 0; e < d; ++e) o[e] = acc[static_cast<size_t>(g) * d + e] / l[g];
      }
    }
  });
}

}  // namespace cpplm
