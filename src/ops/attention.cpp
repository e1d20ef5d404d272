// Causal / sliding-window attention with an online softmax over the cache and the new tokens.
#include "ops/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "backends/cpu/ref_kernels.h"

namespace cpplm {
namespace {

inline int64_t slot(const KVView& c, int head, int pos) {
  const int s = (c.max_size == 0 || pos < c.keep) ? pos : c.keep + (pos - c.keep) % (c.max_size - c.keep);
  return (static_cast<int64_t>(head) * c.capacity + s);
}

}  // namespace

// Work mapping: one (query token, query head) pair per task, threads over all pairs.
void attention(const AttentionParams& p, const float* q, const float* k_new, const float* v_new,
               const KVView& cache, float* out) {
  const int d = p.head_dim, group = p.num_heads / p.num_kv_heads;
  const int64_t tasks = static_cast<int64_t>(p.n) * p.num_heads;
#pragma omp parallel
  {
    std::vector<float> acc(d);
#pragma omp for schedule(static)
    for (int64_t task = 0; task < tasks; ++task) {
      const int i = static_cast<int>(task / p.num_heads), h = static_cast<int>(task % p.num_heads);
      const int kvh = h / group;
      const int pos = cache.offset + i;
      const float* qi = q + task * d;
      float m = -INFINITY, l = 0;
      std::fill(acc.begin(), acc.end(), 0.0f);
      auto visit = [&](int j) {
        const float *kj, *vj;
        if (j >= cache.offset) {
          const int64_t row = static_cast<int64_t>(j - cache.offset) * p.num_kv_heads + kvh;
          kj = k_new + row * d;
          vj = v_new + row * d;
        } else {
          const int64_t s = slot(cache, kvh, j) * d;
          kj = cache.k + s;
          vj = cache.v + s;
        }
        const float score = cpu::dot_f32(qi, kj, d) * p.scale;
        if (score > m) {  // rescale what was accumulated under the old maximum
          const float r = std::exp(m - score);
          l *= r;
          for (int e = 0; e < d; ++e) acc[e] *= r;
          m = score;
        }
        const float w = std::exp(score - m);
        l += w;
        for (int e = 0; e < d; ++e) acc[e] += w * vj[e];
      };
      const int start = p.window > 0 ? std::max(0, pos - p.window + 1) : 0;
      for (int j = 0; j < std::min(p.keep, start); ++j) visit(j);
      for (int j = start; j <= pos; ++j) visit(j);
      float* o = out + task * d;
      for (int e = 0; e < d; ++e) o[e] = acc[e] / l;
    }
  }
}

}  // namespace cpplm
