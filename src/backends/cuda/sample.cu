// The sampler chain on the device: one block of 1024 threads per row, every pass over the row's
// logits (L2-resident after the lm_head) in a fixed order, so a row's token depends only on its
// logits and its uniform draw.
//
// Filters as thresholds on the log-probabilities' order keys: top-k and top-p each find the key of
// their last kept token by a radix select (four 8-bit digits; counts, or masses in 2^-62 fixed
// point, whose integer sums do not depend on order), then the tied tokens kept in index order (the
// host's stable sort). The draw walks the cumulative weights in index order: warps own contiguous
// ranges, sum them in 32-wide steps, and the warp holding u · total finds the token.
#include "backends/cuda/common.cuh"
#include "backends/cuda/sample.h"

namespace cpplm::cuda {
namespace {

constexpr int kThreads = 1024, kWarps = kThreads / 32;
constexpr double kFixedOne = 0x1.0p62;  // top-p masses: probability × 2^62 as unsigned 64-bit integers

__device__ __forceinline__ uint32_t order_key(float v) {  // larger float, larger key
  const uint32_t b = __float_as_uint(v);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
__device__ __forceinline__ float key_value(uint32_t k) { return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k); }
__device__ __forceinline__ unsigned long long fixed_mass(float lp) {
  return static_cast<unsigned long long>(exp(static_cast<double>(lp)) * kFixedOne);
}

struct Shared {
  unsigned long long hist[256];
  unsigned long long above, at;
  double sums[kWarps];
  double local;  // the draw's target within the picked warp's range
  float best[kWarps];
  int best_i[kWarps];
  int counts[kWarps];
  uint32_t key;
  int pick, rank, index;
};

// The row as the filters see it: log-probability lp(i) = x[i] - lse (float, as the host's
// log-softmax), and which tokens the filters applied so far keep.
struct Row {
  const float* x;
  int V;
  float lse = 0.0f;
  bool has_k = false, has_p = false, has_m = false;
  uint32_t k_key = 0, p_key = 0;
  int k_cut = 0, p_cut = 0;  // ties at the key are kept up to this index
  float m_thr = 0.0f;
  __device__ float lp(int i) const { return x[i] - lse; }
  __device__ bool kept(int i, float l) const {
    const uint32_t k = order_key(l);
    if (has_k && !(k > k_key || (k == k_key && i <= k_cut))) return false;
    if (has_p && !(k > p_key || (k == p_key && i <= p_cut))) return false;
    return !(has_m && l < m_thr);
  }
};

// Warp w's contiguous range of the row, in whole 32-token steps.
__device__ __forceinline__ void warp_range(int V, int w, int& lo, int& hi) {
  const int chunk = ((V + kWarps - 1) / kWarps + 31) / 32 * 32;
  lo = min(V, w * chunk);
  hi = min(V, lo + chunk);
}

// Largest key T among kept tokens with weight(key > T) < target <= weight(key >= T); false when the
// kept weight never reaches target. Sets *above = weight(key > T), *at = weight(key == T).
template <class Weight>
__device__ bool radix_select(const Row& r, Weight weight, unsigned long long target, Shared& s, uint32_t* key,
                             unsigned long long* above, unsigned long long* at) {
  uint32_t prefix = 0;
  unsigned long long acc = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = threadIdx.x; b < 256; b += kThreads) s.hist[b] = 0;
    __syncthreads();
    const uint32_t mask = shift == 24 ? 0u : (0xffffffffu << (shift + 8));
    int run_d = -1;
    unsigned long long run = 0;  // consecutive tokens of one digit, added once
    for (int i = threadIdx.x; i < r.V; i += kThreads) {
      const float l = r.lp(i);
      const uint32_t k = order_key(l);
      if ((k & mask) != prefix || !r.kept(i, l)) continue;
      const int d = (k >> shift) & 255;
      if (d != run_d) {
        if (run) atomicAdd(&s.hist[run_d], run);
        run_d = d, run = 0;
      }
      run += weight(l);
    }
    if (run) atomicAdd(&s.hist[run_d], run);
    __syncthreads();
    if (threadIdx.x == 0) {
      int b = 255;
      for (; b >= 0 && acc + s.hist[b] < target; --b) acc += s.hist[b];
      s.pick = b;
      if (b >= 0) s.key = prefix | (static_cast<uint32_t>(b) << shift), s.at = s.hist[b];
      s.above = acc;
    }
    __syncthreads();
    if (s.pick < 0) return false;
    prefix = s.key, acc = s.above;
  }
  *key = prefix, *above = acc, *at = s.at;
  return true;
}

// Index of the nth (1-based) kept token whose key is `key`, in index order.
__device__ int nth_tie(const Row& r, uint32_t key, int nth, Shared& s) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  int lo, hi;
  warp_range(r.V, warp, lo, hi);
  auto tie = [&](int i) {
    if (i >= hi) return false;
    const float l = r.lp(i);
    return order_key(l) == key && r.kept(i, l);
  };
  int count = 0;
  for (int base = lo; base < hi; base += 32) count += __popc(__ballot_sync(0xffffffffu, tie(base + lane)));
  if (lane == 0) s.counts[warp] = count;
  __syncthreads();
  if (threadIdx.x == 0) {
    int acc = 0, w = 0;
    while (w < kWarps - 1 && acc + s.counts[w] < nth) acc += s.counts[w++];
    s.pick = w, s.rank = nth - acc, s.index = r.V - 1;
  }
  __syncthreads();
  if (warp == s.pick) {
    int rank = s.rank;
    for (int base = lo; base < hi; base += 32) {
      unsigned bits = __ballot_sync(0xffffffffu, tie(base + lane));
      const int c = __popc(bits);
      if (rank <= c) {
        for (int j = 1; j < rank; ++j) bits &= bits - 1;  // drop the lowest rank - 1 set bits
        if (lane == 0) s.index = base + __ffs(bits) - 1;
        break;
      }
      rank -= c;
    }
  }
  __syncthreads();
  return s.index;
}

// A filter keeping the smallest set, in descending order (ties by index), whose weight reaches target.
template <class Weight>
__device__ void keep_top(Row& r, Weight weight, unsigned long long target, Shared& s, bool is_p) {
  uint32_t key;
  unsigned long long above, at;
  if (!radix_select(r, weight, target, s, &key, &above, &at)) return;  // never reached: all kept
  const unsigned long long each = weight(key_value(key));              // every tie weighs the same
  const unsigned long long need = target - above;                      // > 0, <= at
  const unsigned long long ties = each ? at / each : 0, keep = each ? (need + each - 1) / each : ties;
  const int cut = keep >= ties ? r.V : nth_tie(r, key, static_cast<int>(keep), s);
  if (is_p) r.has_p = true, r.p_key = key, r.p_cut = cut;
  else r.has_k = true, r.k_key = key, r.k_cut = cut;
}

__global__ void __launch_bounds__(kThreads)
    sample_kernel(float* logits, int V, const SampleRow* rows, const SampleEdit* edits, int32_t* out) {
  pdl_wait();
  pdl_trigger();
  __shared__ Shared s;
  const SampleRow sr = rows[blockIdx.x];
  float* x = logits + static_cast<int64_t>(sr.logits_row) * V;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  // The edits: the first edit of each token applies that token's, in order.
  for (int e = sr.edit_begin + threadIdx.x; e < sr.edit_end; e += kThreads) {
    const int t = edits[e].token;
    if ((e > sr.edit_begin && edits[e - 1].token == t) || t < 0 || t >= V) continue;
    float v = x[t];
    for (int f = e; f < sr.edit_end && edits[f].token == t; ++f) {
      const float a = edits[f].value;
      v = edits[f].kind == 0 ? v + a : edits[f].kind == 1 ? (v > 0 ? v / a : v * a) : v - a;
    }
    x[t] = v;
  }
  __syncthreads();
  // Max (first index on ties) and finiteness.
  float best = -INFINITY;
  int bi = V;
  bool bad = false;
  for (int i = threadIdx.x; i < V; i += kThreads) {
    const float v = x[i];
    bad |= !isfinite(v);
    if (v > best || bi == V) best = v, bi = i;
  }
  if (__syncthreads_or(bad)) {
    if (threadIdx.x == 0) out[blockIdx.x] = -1;
    return;
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, best, o);
    const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (ov > best || (ov == best && oi < bi)) best = ov, bi = oi;
  }
  if (lane == 0) s.best[warp] = best, s.best_i[warp] = bi;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kWarps; ++w)
      if (s.best[w] > s.best[0] || (s.best[w] == s.best[0] && s.best_i[w] < s.best_i[0]))
        s.best[0] = s.best[w], s.best_i[0] = s.best_i[w];
  }
  __syncthreads();
  const float m = s.best[0];
  const int top_i = s.best_i[0];
  if (sr.temp == 0.0f) {
    if (threadIdx.x == 0) out[blockIdx.x] = top_i;
    return;
  }
  // log-softmax: lse = m + log(sum exp(x - m)), summed in double.
  double sum = 0.0;
  for (int i = threadIdx.x; i < V; i += kThreads) sum += exp(static_cast<double>(x[i] - m));
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (lane == 0) s.sums[warp] = sum;
  __syncthreads();
  if (threadIdx.x == 0) {
    double t = 0.0;
    for (int w = 0; w < kWarps; ++w) t += s.sums[w];
    s.sums[0] = t;
  }
  __syncthreads();
  Row r{x, V};
  r.lse = m + static_cast<float>(log(s.sums[0]));
  const float top = m - r.lse;  // the largest log-probability; every filter keeps it
  __syncthreads();
  if (sr.top_k > 0 && sr.top_k < V)
    keep_top(
        r, [](float) { return 1ull; }, static_cast<unsigned long long>(sr.top_k), s, false);
  if (sr.top_p < 1.0f)
    keep_top(
        r, [](float l) { return fixed_mass(l); }, static_cast<unsigned long long>(static_cast<double>(sr.top_p) * kFixedOne), s,
        true);
  if (sr.min_p > 0.0f) r.has_m = true, r.m_thr = top + logf(sr.min_p);
  // The draw: weights exp((lp - top) / temp) of kept tokens, cumulated in index order.
  const double temp = static_cast<double>(sr.temp);
  auto weight = [&](int i) {
    if (i >= V) return 0.0;
    const float l = r.lp(i);
    return r.kept(i, l) ? exp(static_cast<double>(l - top) / temp) : 0.0;
  };
  int lo, hi;
  warp_range(V, warp, lo, hi);
  double run = 0.0;  // this warp's range, 32-wide inclusive scans added in order
  auto step = [&](int base, double* incl) {
    const double w = base + lane < hi ? weight(base + lane) : 0.0;
    double v = w;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const double n = __shfl_up_sync(0xffffffffu, v, o);
      if (lane >= o) v += n;
    }
    *incl = v;
    return w;
  };
  for (int base = lo; base < hi; base += 32) {
    double incl;
    step(base, &incl);
    run += __shfl_sync(0xffffffffu, incl, 31);
  }
  if (lane == 0) s.sums[warp] = run;
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0.0;
    for (int w = 0; w < kWarps; ++w) total += s.sums[w];
    const double target = sr.u * total;
    double before = 0.0;
    int w = 0, last = 0;
    for (; w < kWarps; ++w) {
      if (s.sums[w] > 0.0) last = w;
      if (s.sums[w] > 0.0 && before + s.sums[w] > target) break;
      before += s.sums[w];
    }
    // Rounding at the top end: the last weighted token of the last weighted range.
    const double local = w == kWarps ? INFINITY : target - before;
    if (w == kWarps) w = last;
    s.pick = w, s.local = local, s.index = top_i;
  }
  __syncthreads();
  if (warp == s.pick) {
    const double local = s.local;
    double acc = 0.0;
    int last = -1;
    bool found = false;
    for (int base = lo; base < hi && !found; base += 32) {
      double incl;
      const double w = step(base, &incl);
      const unsigned hit = __ballot_sync(0xffffffffu, w > 0.0 && acc + incl > local);
      const unsigned pos = __ballot_sync(0xffffffffu, w > 0.0);
      if (hit) {
        if (lane == 0) s.index = base + __ffs(hit) - 1;
        found = true;
      } else if (pos) {
        last = base + 31 - __clz(pos);
      }
      acc += __shfl_sync(0xffffffffu, incl, 31);
    }
    if (!found && last >= 0 && lane == 0) s.index = last;
  }
  __syncthreads();
  if (threadIdx.x == 0) out[blockIdx.x] = s.index;
}

}  // namespace

void sample_rows(const CudaContext& ctx, float* logits, int V, const SampleRow* rows, const SampleEdit* edits, int n,
                 int32_t* out) {
  if (n <= 0) return;
  launch(ctx.stream(), ctx.pdl(), sample_kernel, dim3(n), dim3(kThreads), 0, logits, V, rows, edits, out);
  CPPLM_CUDA_LAUNCHED();
}

}  // namespace cpplm::cuda
