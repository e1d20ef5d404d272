// Prefill attention: a block of query tokens at a time, so scores and value sums are matrix products.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "ops/attention_impl.h"

namespace cpplm::attn {

// Work mapping: one (block of kBlock query tokens, kv head) pair per task, the largest (latest)
// blocks first, handed out dynamically (causal blocks differ in cost). The block's tokens × the
// kv head's GQA group form R query rows (pre-scaled). Keys are visited in tiles of kTile:
//   S[R, tile] = Q · Kᵀ   (matmul: the tile's keys as the weight matrix, cached ones read in their
//                          stored type, new ones gathered as f32)
//   mask, online softmax per row (one rescale of its accumulator per tile), P = exp(S - max)
//   A[R, d] += P · V      (matmul: the tile's values transposed [d, tile] as the weight matrix)
// No n×n scores are kept: memory per thread is O(R·(d + tile)).
void attention_blocks(const AttentionParams& p, const float* q, const float* k_new, const float* v_new, const KVView& cache,
                      float* out) {
  constexpr int kBlock = 16, kTile = 64;
  const int d = p.head_dim, group = p.num_heads / p.num_kv_heads, rmax = kBlock * group;
  const int nblocks = (p.n + kBlock - 1) / kBlock;
  const int64_t tasks = static_cast<int64_t>(nblocks) * p.num_kv_heads;
  const cpu::Kernels& kern = cpu::kernels();
  const cpu::MatRef kmat = kv_matrix(cache, false);
  // An 8-bit cache stays on matmul's exact path (its int8-activation path starts at kInt8MinTokens).
  const int rows_per_call = cache.type == KVType::Q8 ? cpu::kInt8MinTokens - 1 : rmax;
  parallel_for(tasks, 1, [&](int64_t task0, int64_t task1) {
    std::vector<float> qs(static_cast<size_t>(rmax) * d), acc(qs.size()), pv(qs.size()), m(rmax), l(rmax);
    std::vector<float> s(static_cast<size_t>(rmax) * kTile), kt(static_cast<size_t>(kTile) * d), vt(kt.size()), row(d);
    std::vector<int> rpos(rmax);
    for (int64_t task = task0; task < task1; ++task) {
      const int b = nblocks - 1 - static_cast<int>(task / p.num_kv_heads), kvh = static_cast<int>(task % p.num_kv_heads);
      const int i0 = b * kBlock, nb = std::min(kBlock, p.n - i0), rows = nb * group;
      for (int t = 0; t < nb; ++t)
        for (int g = 0; g < group; ++g) {
          const int r = t * group + g;
          const float* src = q + (static_cast<int64_t>(i0 + t) * p.num_heads + kvh * group + g) * d;
          for (int e = 0; e < d; ++e) qs[static_cast<size_t>(r) * d + e] = src[e] * p.scale;
          rpos[r] = cache.offset + i0 + t;
        }
      std::fill(m.begin(), m.end(), -INFINITY);
      std::fill(l.begin(), l.end(), 0.0f);
      std::fill(acc.begin(), acc.end(), 0.0f);

      // Keys [t0, t0 + cnt): scores into s[R][cnt], values transposed into vt[d][cnt].
      auto load_tile = [&](int t0, int cnt) {
        int t = 0;
        while (t < cnt && t0 + t < cache.offset) {  // cached keys, in runs of consecutive slots
          const int64_t s0 = slot(cache, kvh, t0 + t);
          int len = 1;
          while (t + len < cnt && t0 + t + len < cache.offset && slot(cache, kvh, t0 + t + len) == s0 + len) ++len;
          const cpu::MatRef kr = kv_rows(kmat, s0, len);
          for (int r0 = 0; r0 < rows; r0 += rows_per_call)
            kern.matmul(kr, qs.data() + static_cast<int64_t>(r0) * d, std::min(rows_per_call, rows - r0), 0, len,
                        s.data() + static_cast<int64_t>(r0) * cnt + t, cnt);
          for (int j = 0; j < len; ++j) {
            kv_load_row(cache, true, s0 + j, row.data());
            for (int e = 0; e < d; ++e) vt[static_cast<size_t>(e) * cnt + t + j] = row[e];
          }
          t += len;
        }
        if (t == cnt) return;
        const int first_new = t;
        for (; t < cnt; ++t) {  // this call's own keys
          const int64_t r = static_cast<int64_t>(t0 + t - cache.offset) * p.num_kv_heads + kvh;
          std::memcpy(kt.data() + static_cast<size_t>(t - first_new) * d, k_new + r * d, d * sizeof(float));
          for (int e = 0; e < d; ++e) vt[static_cast<size_t>(e) * cnt + t] = v_new[r * d + e];
        }
        cpu::MatRef kn;
        kn.w = kt.data();
        kn.m = cnt - first_new;
        kn.k = d;
        kern.matmul(kn, qs.data(), rows, 0, cnt - first_new, s.data() + first_new, cnt);
      };
      auto visit = [&](int j0, int j1) {
        for (int t0 = j0; t0 < j1; t0 += kTile) {
          const int cnt = std::min(kTile, j1 - t0);
          load_tile(t0, cnt);
          for (int r = 0; r < rows; ++r) {
            float* sr = s.data() + static_cast<size_t>(r) * cnt;
            float mx = -INFINITY;
            for (int j = 0; j < cnt; ++j) {
              if (!visible(p, rpos[r], t0 + j)) sr[j] = -INFINITY;
              mx = std::max(mx, sr[j]);
            }
            if (mx == -INFINITY) {  // nothing visible to this row in the tile
              std::fill_n(sr, cnt, 0.0f);
              continue;
            }
            if (mx > m[r]) {  // rescale what was accumulated under the old maximum
              const float f = std::exp(m[r] - mx);
              l[r] *= f;
              kern.scale(acc.data() + static_cast<size_t>(r) * d, f, d);
              m[r] = mx;
            }
            l[r] += kern.exp_sum(sr, cnt, m[r]);  // masked keys: exp(-inf) = 0
          }
          cpu::MatRef vm;
          vm.w = vt.data();
          vm.m = d;
          vm.k = cnt;
          kern.matmul(vm, s.data(), rows, 0, d, pv.data(), d);
          for (size_t e = 0; e < static_cast<size_t>(rows) * d; ++e) acc[e] += pv[e];
        }
      };
      const int first = cache.offset + i0, last = first + nb - 1;  // the block's query positions
      const int start = kv_window_start(first, p.window);
      visit(0, kv_sinks_end(start, p.keep));
      visit(start, last + 1);
      for (int r = 0; r < rows; ++r) {
        const int t = r / group, g = r % group;
        float* o = out + (static_cast<int64_t>(i0 + t) * p.num_heads + kvh * group + g) * d;
        for (int e = 0; e < d; ++e) o[e] = acc[static_cast<size_t>(r) * d + e] / l[r];
      }
    }
  });
}

}  // namespace cpplm::attn
