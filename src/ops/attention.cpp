// Causal / sliding-window attention with an online softmax over the cache and the new tokens.
#include "ops/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "backends/cpu/kernels.h"

namespace cpplm {
namespace {

inline int64_t slot(const KVView& c, int head, int pos) {
  const int s = (c.max_size == 0 || pos < c.keep) ? pos : c.keep + (pos - c.keep) % (c.max_size - c.keep);
  return (static_cast<int64_t>(head) * c.capacity + s);
}

}  // namespace

// Work mapping: one (query token, query head) pair per task, threads over all pairs. Keys are
// visited in tiles of kTile: scores of the tile first (one SIMD kernel call), then one rescale of
// the accumulator per tile (online softmax, no n×n scores), then the tile's values accumulated
// with the output chunk held in registers.
void attention(const AttentionParams& p, const float* q, const float* k_new, const float* v_new,
               const KVView& cache, float* out) {
  constexpr int kTile = 64;
  const int d = p.head_dim, group = p.num_heads / p.num_kv_heads;
  const int64_t tasks = static_cast<int64_t>(p.n) * p.num_heads;
  const cpu::Kernels& kern = cpu::kernels();
  const int64_t work = tasks * (cache.offset + p.n) * d;
#pragma omp parallel if (work >= (1 << 15))
  {
    std::vector<float> acc(d);
    float score[kTile];
    const float* krow[kTile];
    const float* vrow[kTile];
#pragma omp for schedule(static)
    for (int64_t task = 0; task < tasks; ++task) {
      const int i = static_cast<int>(task / p.num_heads), h = static_cast<int>(task % p.num_heads);
      const int kvh = h / group;
      const int pos = cache.offset + i;
      const float* qi = q + task * d;
      float m = -INFINITY, l = 0;
      std::fill(acc.begin(), acc.end(), 0.0f);
      auto key_value = [&](int j, const float** kj, const float** vj) {
        if (j >= cache.offset) {
          const int64_t row = static_cast<int64_t>(j - cache.offset) * p.num_kv_heads + kvh;
          *kj = k_new + row * d;
          *vj = v_new + row * d;
        } else {
          const int64_t s = slot(cache, kvh, j) * d;
          *kj = cache.k + s;
          *vj = cache.v + s;
        }
      };
      // Visits keys [j0, j1) in tiles.
      auto visit = [&](int j0, int j1) {
        for (int t0 = j0; t0 < j1; t0 += kTile) {
          const int cnt = std::min(kTile, j1 - t0);
          for (int j = 0; j < cnt; ++j) key_value(t0 + j, &krow[j], &vrow[j]);
          kern.dots(qi, krow, cnt, d, p.scale, score);
          float tile_max = -INFINITY;
          for (int j = 0; j < cnt; ++j) tile_max = std::max(tile_max, score[j]);
          if (tile_max > m) {  // rescale what was accumulated under the old maximum
            const float r = std::exp(m - tile_max);
            l *= r;
            kern.scale(acc.data(), r, d);
            m = tile_max;
          }
          for (int j = 0; j < cnt; ++j) {
            score[j] = std::exp(score[j] - m);
            l += score[j];
          }
          kern.axpys(score, vrow, cnt, d, acc.data());
        }
      };
      const int start = p.window > 0 ? std::max(0, pos - p.window + 1) : 0;
      visit(0, std::min(p.keep, start));
      visit(start, pos + 1);
      float* o = out + task * d;
      for (int e = 0; e < d; ++e) o[e] = acc[e] / l;
    }
  }
}

}  // namespace cpplm
