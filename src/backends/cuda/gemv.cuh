// The decode GEMV (one row of x) shared by every weight format: float rows (kernels.cu) and mlx
// affine-quantized codes (quant.cu). A format F says how many inputs one 16-byte weight vector
// holds (F::kVec), what else a vector needs (F::Aux, fetched with it: nothing, or its group's
// scale and bias) and how it is multiplied (F::dot); F::kSums asks for sums of x per vector.
// F::kInt8 formats stage x themselves (F::stage, as int8 codes) and read it in F::dot from the whole
// staged area; F::base(nv) is then the size of that area in floats. They also take up to kGemvRows rows
// of x at once (batched decode steps, F::dot_rows), each computed exactly as it would be alone.
#pragma once
#include <algorithm>

#include "backends/cuda/common.cuh"
#include "backends/cuda/kernels.h"

namespace cpplm::cuda {
namespace {

constexpr int kGemvWarps = 8;    // warps per block of gemv_kernel (several rows of x)
constexpr int kGemv1Warps = 16;  // warps per block of gemv1_kernel (one row of x): one block per SM,
                                 // so that x is read from L2 once per SM, not once per block
constexpr int kGemvUnroll = 4;   // 16-byte loads in flight per lane and row
constexpr int kGemvRows = 8;     // rows of x gemv1_kernel takes at once (int8 formats)

struct NoAux {};

// Float weights of type W: 16 / sizeof(W) per vector; x stays in order (pos).
template <class W>
struct FloatFmt {
  static constexpr int kVec = 16 / sizeof(W);
  static constexpr bool kSums = false, kPairs = false, kInt8 = false;
  using Aux = NoAux;
  static __host__ __device__ __forceinline__ int base(int cc) { return cc * kVec; }
  // Inputs 4i .. 4i + 3 of x at their staged positions (in order).
  static __device__ __forceinline__ void store4(float* xs, int i, float4 v) { reinterpret_cast<float4*>(xs)[i] = v; }
  static __device__ __forceinline__ float4 load4(const float* xs, int i) { return reinterpret_cast<const float4*>(xs)[i]; }
  static __device__ __forceinline__ Aux aux(const GemvArgs&, int, int) { return {}; }
  // acc[r] += row r's vector v[r] · x; xr: the vector's inputs (staged at pos), xsum their sum.
  template <int R>
  static __device__ __forceinline__ void dot(float* acc, const uint4* v, const Aux*, const float* xr, float, int) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
      float f[kVec];
      unpack16<W>(v[r], f);
#pragma unroll
      for (int e = 0; e < kVec; ++e) acc[r] = fmaf(f[e], xr[e], acc[r]);
    }
  }
};

// Orders (value, row) pairs as unsigned integers: larger values first, then lower rows.
__device__ __forceinline__ unsigned long long argmax_key(float v, int row) {
  uint32_t u = __float_as_uint(v);
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return (static_cast<unsigned long long>(u) << 32) | (0xffffffffu - static_cast<uint32_t>(row));
}

// Stores one finished unit of gemv1_kernel into y (a row of outputs): row p (R == 1, store or
// accumulate) or the row pair (2p, 2p + 1) (R == 2, also SwiGLU); bias added first. old: kAdd's y
// values of the unit's rows, read when the unit started (no load at the end of the unit).
template <int R>
__device__ __forceinline__ void gemv_store(const GemvArgs& a, float* y, int p, const float* s, const float* old) {
  if constexpr (R == 1) {
    const float v = s[0] + (a.bias ? a.bias[p] : 0.0f);
    y[p] = a.mode == GemvMode::kAdd ? old[0] + v : v;
  } else {
    const int r0 = 2 * p;
    const bool has1 = r0 + 1 < a.out;
    float s0 = s[0], s1 = s[1];
    if (a.bias) {
      s0 += a.bias[r0];
      if (has1) s1 += a.bias[r0 + 1];
    }
    if (a.mode == GemvMode::kSwiGlu) {
      y[p] = s0 / (1.0f + expf(-s0)) * s1;
    } else {
      if (a.mode == GemvMode::kAdd) s0 += old[0], s1 += old[1];
      y[r0] = s0;
      if (has1) y[r0 + 1] = s1;
    }
  }
}

// Shared memory of gemv1_kernel<F>: x f32 (vector v's inputs from F::base(v)), then (F::kSums) each
// vector's sum of inputs, then (norm) the RMSNorm weights, from gemv1_norm_offset<F>.
template <class F>
__host__ __device__ __forceinline__ int gemv1_norm_offset(int in) {
  const int nv = in / F::kVec;
  return (F::base(nv) + (F::kSums ? nv : 0) + 3) / 4 * 4;  // floats, 16-byte aligned
}
template <class F>
size_t gemv1_smem(int in, bool norm) {
  return (static_cast<size_t>(gemv1_norm_offset<F>(in)) + (norm ? in : 0)) * sizeof(float);
}
// Several rows of x (int8 formats, no norm): each row's staged area, gemv1_norm_offset apart.
template <class F>
size_t gemv1_rows_smem(int in, int rows) {
  return static_cast<size_t>(rows) * gemv1_norm_offset<F>(in) * sizeof(float);
}

// Starts copying the RMSNorm weights to ns (constants: issued before the PDL wait), each thread the
// float4s that stage_x's norm pass gives it (so only its own wait is needed before reading them).
__device__ __forceinline__ void prefetch_norm(const GemvArgs& a, float* ns, int in) {
  if (!a.norm_w) return;
  const float4* g4 = reinterpret_cast<const float4*>(a.norm_w);
  for (int i = threadIdx.x; i < in / 4; i += blockDim.x) cp_async16(ns + 4 * i, g4 + i, true);
  cp_async_commit();
}

// Inputs 4i .. 4i + 3 of a GEMV whose x is attention's unmerged split partials (GemvArgs::
// merge_splits): flash-decoding's merge, as the attention kernel's combine_rows does it (weights
// exp(m_s - max) over the splits with keys), every split's loads in flight at once.
__device__ __forceinline__ float4 merged_x4(const GemvArgs& a, int i) {
  const int d = a.merge_head_dim, ps = attn_partial_stride(d), S = a.merge_splits, e = 4 * i % d;
  const float* part = a.x + static_cast<int64_t>(4 * i / d) * S * ps;
  float2 ml[kMaxGemvMergeSplits];  // each split's (max, sum)
  float4 o[kMaxGemvMergeSplits];
#pragma unroll
  for (int s = 0; s < kMaxGemvMergeSplits; ++s)
    if (s < S) {
      ml[s] = *reinterpret_cast<const float2*>(part + s * ps + d);
      o[s] = *reinterpret_cast<const float4*>(part + s * ps + e);
    }
  float mx = -INFINITY;
#pragma unroll
  for (int s = 0; s < kMaxGemvMergeSplits; ++s)
    if (s < S && ml[s].y > 0.0f) mx = fmaxf(mx, ml[s].x);
  float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float l = 0.0f;
#pragma unroll
  for (int s = 0; s < kMaxGemvMergeSplits; ++s)
    if (s < S && ml[s].y > 0.0f) {
      const float w = expf(ml[s].x - mx);
      l = fmaf(w, ml[s].y, l);
      v.x = fmaf(w, o[s].x, v.x), v.y = fmaf(w, o[s].y, v.y), v.z = fmaf(w, o[s].z, v.z), v.w = fmaf(w, o[s].w, v.w);
    }
  const float inv = 1.0f / l;  // split 0 always has a key
  return make_float4(v.x * inv, v.y * inv, v.z * inv, v.w * inv);
}

// Stages x (RMS-normalized when norm_w is set, by the weights prefetch_norm copied to ns) at F's
// positions: input 4i + e at F::load4(xs, i); with F::kSums, also each vector's sum of inputs at
// xs[F::base(in / kVec) + v]. Threads own float4s (F::kVec / 4 per vector, adjacent lanes): the
// second pass revisits only a thread's own values (no barrier), and the per-vector sums are warp
// shuffles.
template <class F, bool kMerge>
__device__ __forceinline__ void stage_x(const GemvArgs& a, float* xs, const float* ns, int in) {
  const float4* x4 = reinterpret_cast<const float4*>(a.x);
  const int n4 = in / 4;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < n4; i += blockDim.x) {
    const float4 v = kMerge ? merged_x4(a, i) : x4[i];
    F::store4(xs, i, v);
    ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
  }
  const float inv = a.norm_w ? rsqrtf(block_sum(ss) / in + a.eps) : 1.0f;
  if (a.norm_w) cp_async_wait<0>();
  if (a.norm_w || F::kSums) {
    const int end = F::kSums ? (n4 + 31) / 32 * 32 : n4;  // whole warps when shuffling
    for (int i = threadIdx.x; i < end; i += blockDim.x) {
      float s = 0.0f;
      if (i < n4) {
        float4 v = F::load4(xs, i);
        if (a.norm_w) {
          const float4 g = reinterpret_cast<const float4*>(ns)[i];
          v.x *= inv * g.x, v.y *= inv * g.y, v.z *= inv * g.z, v.w *= inv * g.w;
          F::store4(xs, i, v);
        }
        if constexpr (F::kSums) s = v.x + v.y + v.z + v.w;
      }
      if constexpr (F::kSums) {
        constexpr int kQuads = F::kVec / 4;
#pragma unroll
        for (int o = 1; o < kQuads; o <<= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (i < n4 && i % kQuads == 0) xs[F::base(in / F::kVec) + i / kQuads] = s;
      }
    }
  }
  __syncthreads();
}

// Decode GEMV (NX == 1: one row of x), software-pipelined. Work mapping: one warp per unit of R rows
// (R == 2 for SwiGLU's gate/up pairs, else single rows), a persistent grid striding over units;
// lanes stream 16-byte weight vectors coalesced along the rows, and each warp keeps the next
// 2 * kGemvUnroll / R vectors per row in flight while it multiplies the current ones, across
// units too. Its first weights are requested before waiting on the previous kernel and before x
// is staged, so neither wait leaves the memory system idle. Needs in % F::kVec == 0. kMerge: x is
// attention's split partials (GemvArgs::merge_splits; a separate instance, as the merge's loads
// take registers). NX > 1 (int8 formats, no norm, merge or argmax): a.n <= NX rows of x, ldx apart,
// staged one after another, every weight vector multiplied with each; a row's products, sums and
// stores are those of the same row alone (fewer loads in flight per lane: the registers go to the rows).
template <class F, int R, bool kMerge = false, int NX = 1>
__global__ void __launch_bounds__(kGemv1Warps * 32) gemv1_kernel(GemvArgs a) {
  static_assert(NX == 1 || (F::kInt8 && !kMerge), "several rows of x: int8 formats only");
  CPPLM_TRACE(1000000u * R + 10000u * static_cast<unsigned>(a.mode) + a.in / 8);  // tag: shape
  extern __shared__ float xs[];
  constexpr int kVec = F::kVec, kU = 2 * kGemvUnroll / R / (NX > 1 ? 2 : 1), kStep = 32 * kU;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, in = a.in, nv = in / kVec;
  const int units = (a.out + R - 1) / R, stride = gridDim.x * kGemv1Warps;
  const uint4* w = static_cast<const uint4*>(a.w);
  int p = blockIdx.x * kGemv1Warps + warp, cb = 0;  // warp-uniform position: unit, chunk base
  uint4 nx[kU][R];
  typename F::Aux na[kU][R];
  auto fetch = [&](int pp, int base) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int row = min(R * pp + r, a.out - 1);
      const uint4* wr = w + static_cast<int64_t>(row) * nv;
#pragma unroll
      for (int u = 0; u < kU; ++u) {
        const int cc = base + lane + u * 32;
        nx[u][r] = cc < nv ? __ldg(wr + cc) : make_uint4(0, 0, 0, 0);
        na[u][r] = F::aux(a, row, min(cc, nv - 1));
      }
    }
  };
  // Constants, requested before the wait: the norm's weights (first: staging needs them soon after
  // the wait) and the first weights.
  float* ns = xs + gemv1_norm_offset<F>(in);
  prefetch_norm(a, ns, in);
  if (p < units) fetch(p, 0);
  CPPLM_PDL_WAIT();  // x is the previous kernel's output
  pdl_trigger();

  const int xrow = gemv1_norm_offset<F>(in);  // floats between the staged rows of x (NX > 1)
  if constexpr (NX > 1) {
    for (int j = 0; j < a.n; ++j) F::stage(a, a.x + static_cast<int64_t>(j) * a.ldx, xs + j * xrow, ns, in);
  } else if constexpr (F::kInt8) {
    F::stage(a, a.x, xs, ns, in);
  } else {
    stage_x<F, kMerge>(a, xs, ns, in);
  }
  CPPLM_TRACE_MARK(0);

  float acc[NX][R], old[NX][R];
#pragma unroll
  for (int j = 0; j < NX; ++j)
#pragma unroll
    for (int r = 0; r < R; ++r) acc[j][r] = 0.0f, old[j][r] = 0.0f;
  // kAdd (lane 0): y's values of a unit's rows, requested when the unit starts.
  auto load_old = [&](int pp) {
    if (a.mode == GemvMode::kAdd && lane == 0)
#pragma unroll
      for (int j = 0; j < NX; ++j)
        if (j < a.n)
#pragma unroll
          for (int r = 0; r < R; ++r)
            old[j][r] = R * pp + r < a.out ? a.y[static_cast<int64_t>(j) * a.ldy + R * pp + r] : 0.0f;
  };
  if (p < units) load_old(p);
  unsigned long long best = 0;  // lane 0: argmax_key of the warp's best row so far
  while (p < units) {
    uint4 cur[kU][R];
    typename F::Aux ca[kU][R];
#pragma unroll
    for (int u = 0; u < kU; ++u)
#pragma unroll
      for (int r = 0; r < R; ++r) cur[u][r] = nx[u][r], ca[u][r] = na[u][r];
    const int cur_p = p, cur_b = cb;
    cb += kStep;
    if (cb >= nv) cb = 0, p += stride;
    if (p < units) fetch(p, cb);  // next vectors in flight during this multiply
#pragma unroll
    for (int u = 0; u < kU; ++u) {
      const int cc = cur_b + lane + u * 32;
      if (cc < nv) {
        if constexpr (NX > 1) {
          F::template dot_rows<R, NX>(acc, cur[u], ca[u], xs, xrow, nv, cc, a.n);
        } else if constexpr (F::kInt8) {
          F::template dot<R>(acc[0], cur[u], ca[u], xs, nv, cc);
        } else {
          F::template dot<R>(acc[0], cur[u], ca[u], xs + F::base(cc), F::kSums ? xs[F::base(nv) + cc] : 0.0f, cc);
        }
      }
    }
    if (p != cur_p) {  // the unit is complete
#pragma unroll
      for (int j = 0; j < NX; ++j) {
        if (j >= a.n) break;
        float sum[R];
#pragma unroll
        for (int r = 0; r < R; ++r) sum[r] = warp_sum(acc[j][r]), acc[j][r] = 0.0f;
        CPPLM_TRACE_MARK(1);  // (the last unit of warp 0)
        if (lane == 0) {
          gemv_store<R>(a, a.y + static_cast<int64_t>(j) * a.ldy, cur_p, sum, old[j]);
          if (NX == 1 && a.argmax)
#pragma unroll
            for (int r = 0; r < R; ++r)
              if (R * cur_p + r < a.out) best = max(best, argmax_key(sum[r], R * cur_p + r));
        }
      }
      if (p < units) load_old(p);
    }
  }
  if (a.argmax) {  // one atomic per block
    __shared__ unsigned long long wbest[kGemv1Warps];
    if (lane == 0) wbest[warp] = best;
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int k = 1; k < kGemv1Warps; ++k) best = max(best, wbest[k]);
      atomicMax(a.argmax, best);
    }
  }
}

// The most rows of x gemv1_kernel<F, R, false, kGemvRows> stages for inputs of `in` (shared memory
// per block: the device's opt-in limit, read by reserve_gemv1), at least 1.
inline int g_gemv_smem_optin = 48 * 1024;
template <class F>
int gemv1_rows_fit(int in) {
  const size_t row = gemv1_rows_smem<F>(in, 1);
  return static_cast<int>(std::clamp<size_t>(static_cast<size_t>(g_gemv_smem_optin) / row, 1, kGemvRows));
}

// Launches gemv1_kernel<F> (a.in % F::kVec == 0): persistent, at most one block per SM, sized so
// that every warp gets the same number of units (row pairs for SwiGLU, and for formats with
// F::kPairs, which then read x once for two rows). a.n > 1 (int8 formats): launches of as many rows
// as shared memory holds.
template <class F>
void launch_gemv1(const CudaContext& ctx, const GemvArgs& a) {
  const bool pairs = F::kPairs || a.mode == GemvMode::kSwiGlu;
  const int units = pairs ? (a.out + 1) / 2 : a.out;
  const int per_warp = (units + ctx.num_sms() * kGemv1Warps - 1) / (ctx.num_sms() * kGemv1Warps);
  const int grid = ((units + per_warp - 1) / per_warp + kGemv1Warps - 1) / kGemv1Warps;
  if constexpr (F::kInt8) {
    if (a.n > 1) {
      const int step = gemv1_rows_fit<F>(a.in);
      for (int j = 0; j < a.n; j += step) {
        GemvArgs c = a;
        c.n = std::min(step, a.n - j);
        c.x = a.x + static_cast<int64_t>(j) * a.ldx;
        c.y = a.y + static_cast<int64_t>(j) * a.ldy;
        const size_t smem = gemv1_rows_smem<F>(a.in, c.n);
        if (c.n == 1) launch_gemv1<F>(ctx, c);  // the same arithmetic, more loads in flight
        else if (pairs) launch(ctx.stream(), ctx.pdl(), gemv1_kernel<F, 2, false, kGemvRows>, dim3(grid), dim3(kGemv1Warps * 32), smem, c);
        else launch(ctx.stream(), ctx.pdl(), gemv1_kernel<F, 1, false, kGemvRows>, dim3(grid), dim3(kGemv1Warps * 32), smem, c);
      }
      return;
    }
  }
  const size_t smem = gemv1_smem<F>(a.in, a.norm_w != nullptr);
  if constexpr (!F::kSums && !F::kPairs)  // float formats: o_proj may merge attention's splits (gemv() checked)
    if (a.merge_splits)
      return launch(ctx.stream(), ctx.pdl(), gemv1_kernel<F, 1, true>, dim3(grid), dim3(kGemv1Warps * 32), smem, a);
  if (pairs) launch(ctx.stream(), ctx.pdl(), gemv1_kernel<F, 2>, dim3(grid), dim3(kGemv1Warps * 32), smem, a);
  else launch(ctx.stream(), ctx.pdl(), gemv1_kernel<F, 1>, dim3(grid), dim3(kGemv1Warps * 32), smem, a);
}

// Lets gemv1_kernel<F> take the shared memory that inputs of up to max_in need, and RMSNorm-fused
// inputs of norm_in (the hidden size: the norm is only fused there).
template <class F>
void reserve_gemv1(int max_in, int norm_in) {
  if constexpr (F::kInt8) {  // several rows of x: as many as the device's shared memory holds (gemv1_rows_fit)
    int dev = 0, optin = 0;
    CPPLM_CUDA_CHECK(cudaGetDevice(&dev));
    CPPLM_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    cudaFuncAttributes f1{}, f2{};  // less the kernels' static shared memory
    CPPLM_CUDA_CHECK(cudaFuncGetAttributes(&f1, gemv1_kernel<F, 1, false, kGemvRows>));
    CPPLM_CUDA_CHECK(cudaFuncGetAttributes(&f2, gemv1_kernel<F, 2, false, kGemvRows>));
    g_gemv_smem_optin = optin - static_cast<int>(std::max(f1.sharedSizeBytes, f2.sharedSizeBytes));
    constexpr auto kMax = cudaFuncAttributeMaxDynamicSharedMemorySize;
    CPPLM_CUDA_CHECK(cudaFuncSetAttribute(gemv1_kernel<F, 1, false, kGemvRows>, kMax, g_gemv_smem_optin));
    CPPLM_CUDA_CHECK(cudaFuncSetAttribute(gemv1_kernel<F, 2, false, kGemvRows>, kMax, g_gemv_smem_optin));
  }
  const int bytes = static_cast<int>(std::max(gemv1_smem<F>(max_in, false), gemv1_smem<F>(norm_in, true)));
  if (bytes <= 48 * 1024) return;
  CPPLM_CUDA_CHECK(cudaFuncSetAttribute(gemv1_kernel<F, 1>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  CPPLM_CUDA_CHECK(cudaFuncSetAttribute(gemv1_kernel<F, 2>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  if constexpr (!F::kSums && !F::kPairs)
    CPPLM_CUDA_CHECK(cudaFuncSetAttribute(gemv1_kernel<F, 1, true>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
}

}  // namespace
}  // namespace cpplm::cuda
