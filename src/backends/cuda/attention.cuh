// Device helpers shared by the attention kernels (attention.cu: prefill and general decode;
// attention_decode.cu: the GQA-grouped decode step).
#pragma once
#include "backends/cuda/common.cuh"
#include "backends/cuda/kernels.h"

namespace cpplm::cuda {
namespace {

// Keys visible to query i: [0, *sinks) then [*start, pos]; returns their count.
__device__ __forceinline__ int visible_keys(const AttnArgs& a, int offset, int i, int* start, int* sinks) {
  const int pos = offset + i;
  *start = a.window > 0 ? max(0, pos - a.window + 1) : 0;
  *sinks = min(a.keep, *start);
  return *sinks + pos - *start + 1;
}

// Merges the `a.splits` partial softmaxes of output row `row` (the block's threads share the
// dims): one warp turns each split's (max, sum) into its weight, then every output element is
// one pass over the splits. Reads through L2 (__ldcg): other blocks of the launch wrote them.
__device__ __forceinline__ void combine_splits(const AttnArgs& a, int64_t row, int tid) {
  __shared__ float wgt[kMaxAttnSplits];
  __shared__ float inv_l;
  const int d = a.head_dim, ps = attn_partial_stride(d);
  const float* part = a.partial + row * a.splits * ps;
  if (tid < 32) {  // lane s: split s
    const bool has = tid < a.splits;
    const float ms = has ? __ldcg(part + tid * ps + d) : -INFINITY;
    const float ls = has ? __ldcg(part + tid * ps + d + 1) : 0.0f;
    const float mx = warp_max(ls > 0.0f ? ms : -INFINITY);  // split 0 always has a key
    const float w = ls > 0.0f ? expf(ms - mx) : 0.0f;
    if (has) wgt[tid] = w;
    const float l = warp_sum(w * ls);
    if (tid == 0) inv_l = 1.0f / l;
  }
  __syncthreads();
  for (int e = tid; e < d; e += blockDim.x) {
    float o = 0.0f;
#pragma unroll 8
    for (int s = 0; s < a.splits; ++s) o = fmaf(wgt[s], __ldcg(part + s * ps + e), o);
    a.out[row * d + e] = o * inv_l;
  }
}

// After a split block wrote its partial result: whether it is the last of `splits` blocks counting
// on *counter (then the others' partials are visible to it). Every thread of the block calls it.
// One thread fences for the block: the barrier orders the others' stores before its fence (the
// pattern of a split-K semaphore).
__device__ __forceinline__ bool last_split_block(int* counter, int splits) {
  __shared__ bool last;
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    last = atomicAdd(counter, 1) == splits - 1;
    if (last) __threadfence();
  }
  __syncthreads();
  return last;
}

}  // namespace
}  // namespace cpplm::cuda
