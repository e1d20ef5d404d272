// Device helpers shared by the attention kernels (attention.cu: prefill and general decode;
// attention_decode.cu: the GQA-grouped decode step).
#pragma once
#include <type_traits>

#include "backends/cuda/common.cuh"
#include "backends/cuda/kernels.h"

namespace cpplm::cuda {
namespace {

// Keys visible to query i: [0, *sinks) then [*start, pos] (core/kv_index.h); returns their count.
__device__ __forceinline__ int visible_keys(const AttnArgs& a, int offset, int i, int* start, int* sinks) {
  const int pos = offset + i;
  *start = kv_window_start(pos, a.window);
  *sinks = kv_sinks_end(*start, a.keep);
  return *sinks + pos - *start + 1;
}

// Element e of cache row `row` (keys, or values when `value`) as f32; 8-bit codes through their
// group's (scale, bias), as the CPU's dequantization.
template <class KV>
__device__ __forceinline__ float kv_at(const KvLayer& c, bool value, int64_t row, int d, int e) {
  const KV* p = static_cast<const KV*>(value ? c.v : c.k);
  if constexpr (std::is_same_v<KV, uint8_t>) {
    const float2 sb = (value ? c.vsb : c.ksb)[row * (d / c.group) + e / c.group];
    return fmaf(sb.x, static_cast<float>(p[row * d + e]), sb.y);
  } else {
    return to_f32(p[row * d + e]);
  }
}

// A lane's load of a cached row: 16 bytes of floats, or 8 codes of an 8-bit row (whose (scale,
// bias) pair the lane loads beside them: groups are multiples of 8 elements).
template <class KV>
struct KvChunk {
  using T = uint4;
  static constexpr int kVec = 16 / sizeof(KV);
};
template <>
struct KvChunk<uint8_t> {
  using T = uint2;
  static constexpr int kVec = 8;
};
template <class KV>
__device__ __forceinline__ void unpack_chunk(const typename KvChunk<KV>::T& v, float2 sb, float* f) {
  if constexpr (std::is_same_v<KV, uint8_t>) {
#pragma unroll
    for (int i = 0; i < 8; ++i) f[i] = fmaf(sb.x, static_cast<float>(((i < 4 ? v.x : v.y) >> (8 * (i % 4))) & 0xffu), sb.y);
  } else {
    unpack16<KV>(v, f);
  }
}

// The block stores the step's new key kn and value vn [d] f32 at cache row `row`: rounded to KV,
// or quantized one group per warp in an 8-bit cache. Every thread of the block calls it.
template <class KV>
__device__ __forceinline__ void kv_store_row(const KvLayer& c, int64_t row, int d, const float* kn, const float* vn) {
  if constexpr (std::is_same_v<KV, uint8_t>) {
    const int ng = d / c.group;
    for (int j = threadIdx.x / 32; j < 2 * ng; j += blockDim.x / 32) {
      const bool v = j >= ng;
      const int g = v ? j - ng : j;
      quantize_q8_warp((v ? vn : kn) + g * c.group, c.group, static_cast<uint8_t*>(v ? c.v : c.k) + row * d + g * c.group,
                       (v ? c.vsb : c.ksb) + row * ng + g);
    }
  } else {
    for (int e = threadIdx.x; e < d; e += blockDim.x) {
      static_cast<KV*>(c.k)[row * d + e] = from_f32<KV>(kn[e]);
      static_cast<KV*>(c.v)[row * d + e] = from_f32<KV>(vn[e]);
    }
  }
}

__device__ __forceinline__ void axpy(float w, float v, float& o) { o = fmaf(w, v, o); }
__device__ __forceinline__ void axpy(float w, const float4& v, float4& o) {
  o.x = fmaf(w, v.x, o.x), o.y = fmaf(w, v.y, o.y), o.z = fmaf(w, v.z, o.z), o.w = fmaf(w, v.w, o.w);
}
__device__ __forceinline__ float scaled(float v, float s) { return v * s; }
__device__ __forceinline__ float4 scaled(const float4& v, float s) { return make_float4(v.x * s, v.y * s, v.z * s, v.w * s); }

// Merges the `a.splits` partial softmaxes of output rows row0 .. row0 + count - 1 (count <= G;
// the block's threads share them). Each thread sums columns of T (float4 when head_dim % 4 == 0,
// else float) of one row over the splits, 16 splits' loads in flight at a time; its first column's
// first 16 partial rows are requested before anything else, so they arrive with the split maxima
// and sums: warp w turns row w's (then w + warps'...) into weights, lane s for split s. Reads
// through L2 (__ldcg): other blocks of the launch wrote the partials.
template <int G, class T>
__device__ __forceinline__ void combine_rows_as(const AttnArgs& a, int64_t row0, int count) {
  __shared__ float wgt[G][kMaxAttnSplits];
  __shared__ float inv_l[G];
  constexpr int kW = sizeof(T) / sizeof(float), kBatch = 16;
  const int d = a.head_dim, ps = attn_partial_stride(d), warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int cols = d / kW, ps_t = ps / kW;  // partial rows are 16-byte aligned (attn_partial_stride)
  T v[kBatch];
  auto load = [&](int t, int s0) {
    const T* part = reinterpret_cast<const T*>(a.partial + (row0 + t / cols) * a.splits * ps) + t % cols;
#pragma unroll
    for (int k = 0; k < kBatch; ++k) v[k] = s0 + k < a.splits ? __ldcg(part + (s0 + k) * ps_t) : T{};
  };
  const int t0 = threadIdx.x;
  if (t0 < count * cols) load(t0, 0);
  for (int g = warp; g < count; g += blockDim.x / 32) {
    const float* part = a.partial + (row0 + g) * a.splits * ps;
    const bool has = lane < a.splits;
    const float ms = has ? __ldcg(part + lane * ps + d) : -INFINITY;
    const float ls = has ? __ldcg(part + lane * ps + d + 1) : 0.0f;
    const float mx = warp_max(ls > 0.0f ? ms : -INFINITY);  // split 0 always has a key
    const float w = ls > 0.0f ? expf(ms - mx) : 0.0f;
    wgt[g][lane] = w;
    const float l = warp_sum(w * ls);
    if (lane == 0) inv_l[g] = 1.0f / l;
  }
  __syncthreads();
  for (int t = t0; t < count * cols; t += blockDim.x) {
    const int g = t / cols;
    T o{};
    for (int s0 = 0; s0 < a.splits; s0 += kBatch) {
      if (t != t0 || s0 > 0) load(t, s0);
#pragma unroll
      for (int k = 0; k < kBatch; ++k) axpy(s0 + k < a.splits ? wgt[g][s0 + k] : 0.0f, v[k], o);
    }
    reinterpret_cast<T*>(a.out + (row0 + g) * d)[t % cols] = scaled(o, inv_l[g]);
  }
}
template <int G>
__device__ __forceinline__ void combine_rows(const AttnArgs& a, int64_t row0, int count) {
  if (a.head_dim % 4 == 0) combine_rows_as<G, float4>(a, row0, count);
  else combine_rows_as<G, float>(a, row0, count);
}

// After a split block wrote its partial result: whether it is the last of `splits` blocks counting
// on *counter (then the others' partials are visible to it). Every thread of the block calls it.
// One thread counts for the block with a device-scope acq_rel atomic: its release covers the
// others' stores, which the barrier ordered before it (release is cumulative), and its acquire,
// through the second barrier, the others' later loads (the pattern of a split-K semaphore; lighter
// than a sequentially consistent fence on either side of the atomic).
__device__ __forceinline__ bool last_split_block(int* counter, int splits) {
  __shared__ bool last;
  __syncthreads();
  if (threadIdx.x == 0) {
    int old;
    asm volatile("atom.acq_rel.gpu.global.add.s32 %0, [%1], 1;" : "=r"(old) : "l"(counter) : "memory");
    last = old == splits - 1;
  }
  __syncthreads();
  return last;
}

}  // namespace
}  // namespace cpplm::cuda
