// CUDA kernels of the Llama block except attention: GEMV, cuBLAS GEMM, norms, SwiGLU, RoPE, KV append, argmax.
#include <algorithm>

#include "backends/cuda/common.cuh"
#include "backends/cuda/cublas_api.h"
#include "backends/cuda/gemv.cuh"
#include "backends/cuda/kernels.h"

namespace cpplm::cuda {
namespace {

// Work mapping: one warp per pair of output rows (2p, 2p+1), a persistent grid striding over
// pairs; lanes stream 16-byte weight vectors, coalesced along the row, kGemvUnroll deep.
// NR == 1 stages x (RMS-normalized when norm_w is set) in shared memory once per block;
// NR > 1 reads up to NR rows of x from global memory (L1-cached).
template <class W, int NR>
__global__ void __launch_bounds__(kGemvWarps * 32) gemv_kernel(GemvArgs a) {
  pdl_wait();
  pdl_trigger();
  extern __shared__ float xs[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int in = a.in;
  const float* x = a.x;
  int ldx = a.ldx;
  if constexpr (NR == 1) {
    // One pass over x with 16-byte loads (sum of squares on the way); each thread then scales
    // the elements it stored itself.
    float ss = 0.0f;
    const bool v4 = in % 4 == 0;
    if (v4) {
      const float4* x4 = reinterpret_cast<const float4*>(a.x);
      float4* s4 = reinterpret_cast<float4*>(xs);
#pragma unroll 4
      for (int i = threadIdx.x; i < in / 4; i += blockDim.x) {
        const float4 v = x4[i];
        s4[i] = v;
        ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
      }
    } else {
      for (int i = threadIdx.x; i < in; i += blockDim.x) {
        xs[i] = a.x[i];
        ss += xs[i] * xs[i];
      }
    }
    if (a.norm_w) {
      const float inv = rsqrtf(block_sum(ss) / in + a.eps);
      if (v4) {
        for (int i = threadIdx.x; i < in / 4; i += blockDim.x)
#pragma unroll
          for (int e = 0; e < 4; ++e) xs[4 * i + e] *= inv * a.norm_w[4 * i + e];
      } else {
        for (int i = threadIdx.x; i < in; i += blockDim.x) xs[i] *= inv * a.norm_w[i];
      }
    }
    __syncthreads();
    x = xs;
    ldx = 0;
  }
  const W* w = static_cast<const W*>(a.w);
  constexpr int kVec = 16 / sizeof(W);
  const bool vec_ok = in % kVec == 0;
  const int pairs = (a.out + 1) / 2;
  for (int p = blockIdx.x * kGemvWarps + warp; p < pairs; p += gridDim.x * kGemvWarps) {
    const int r0 = 2 * p;
    const bool has1 = r0 + 1 < a.out;
    const W* w0 = w + static_cast<int64_t>(r0) * in;
    const W* w1 = has1 ? w0 + in : w0;
    float acc0[NR], acc1[NR];
#pragma unroll
    for (int r = 0; r < NR; ++r) acc0[r] = acc1[r] = 0.0f;
    if (vec_ok) {
      const uint4* v0 = reinterpret_cast<const uint4*>(w0);
      const uint4* v1 = reinterpret_cast<const uint4*>(w1);
      const int nv = in / kVec;
      for (int c = lane; c < nv; c += 32 * kGemvUnroll) {
        uint4 b0[kGemvUnroll], b1[kGemvUnroll];
#pragma unroll
        for (int u = 0; u < kGemvUnroll; ++u) {
          const int cc = c + u * 32;
          if (cc < nv) {
            b0[u] = __ldg(v0 + cc);
            b1[u] = __ldg(v1 + cc);
          }
        }
#pragma unroll
        for (int u = 0; u < kGemvUnroll; ++u) {
          const int cc = c + u * 32;
          if (cc < nv) {
            float f0[kVec], f1[kVec];
            unpack16<W>(b0[u], f0);
            unpack16<W>(b1[u], f1);
#pragma unroll
            for (int r = 0; r < NR; ++r) {
              if (r < a.n) {
                const float* xr = x + static_cast<int64_t>(r) * ldx + cc * kVec;
#pragma unroll
                for (int e = 0; e < kVec; ++e) {
                  acc0[r] = fmaf(f0[e], xr[e], acc0[r]);
                  acc1[r] = fmaf(f1[e], xr[e], acc1[r]);
                }
              }
            }
          }
        }
      }
    } else {
      for (int i = lane; i < in; i += 32) {
        const float a0 = to_f32(w0[i]), a1 = to_f32(w1[i]);
#pragma unroll
        for (int r = 0; r < NR; ++r)
          if (r < a.n) {
            const float xv = x[static_cast<int64_t>(r) * ldx + i];
            acc0[r] = fmaf(a0, xv, acc0[r]);
            acc1[r] = fmaf(a1, xv, acc1[r]);
          }
      }
    }
#pragma unroll
    for (int r = 0; r < NR; ++r) {
      if (r >= a.n) break;
      float s0 = warp_sum(acc0[r]), s1 = warp_sum(acc1[r]);
      if (lane == 0) {
        if (a.bias) {
          s0 += a.bias[r0];
          if (has1) s1 += a.bias[r0 + 1];
        }
        float* y = a.y + static_cast<int64_t>(r) * a.ldy;
        if (a.mode == GemvMode::kSwiGlu) {
          y[p] = s0 / (1.0f + expf(-s0)) * s1;
        } else if (a.mode == GemvMode::kAdd) {
          y[r0] += s0;
          if (has1) y[r0 + 1] += s1;
        } else {
          y[r0] = s0;
          if (has1) y[r0 + 1] = s1;
        }
      }
    }
  }
}

template <class W>
void launch_gemv(const CudaContext& ctx, GemvArgs a) {
  const int pairs = (a.out + 1) / 2;
  const int blocks_needed = (pairs + kGemvWarps - 1) / kGemvWarps;
  const size_t xs_bytes = static_cast<size_t>(a.in) * sizeof(float);
  CPPLM_CHECK(!a.argmax || (a.n == 1 && a.mode == GemvMode::kStore && !a.bias && a.in % (16 / sizeof(W)) == 0),
              "gemv: fused argmax needs one row, plain stores, no bias, aligned rows");
  if (a.n == 1 && a.in % (16 / sizeof(W)) == 0) return launch_gemv1<FloatFmt<W>>(ctx, a);
  if (a.n == 1) {
    // Persistent: enough blocks to fill the chip; more only re-stage x.
    const int grid = std::min(blocks_needed, ctx.num_sms() * 4);
    launch(ctx.stream(), ctx.pdl(), gemv_kernel<W, 1>, dim3(grid), dim3(kGemvWarps * 32), xs_bytes, a);
    return;
  }
  CPPLM_CHECK(a.norm_w == nullptr, "gemv: fused RMSNorm needs n == 1");
  const int grid = std::min(blocks_needed, ctx.num_sms() * 8);
  for (int r = 0; r < a.n; r += 8) {
    GemvArgs c = a;
    c.n = std::min(8, a.n - r);
    c.x = a.x + static_cast<int64_t>(r) * a.ldx;
    c.y = a.y + static_cast<int64_t>(r) * a.ldy;
    launch(ctx.stream(), ctx.pdl(), gemv_kernel<W, 8>, dim3(grid), dim3(kGemvWarps * 32), 0, c);
    CPPLM_CUDA_LAUNCHED();
  }
}

// One row per block of kNormThreads: thread t holds inputs t, t + kNormThreads, ... (K of them) and
// their weights in registers, all requested at once, so a row costs one round trip to memory rather
// than one per pass and per unrolled run. The sums and products are rms_norm's order (each thread's
// squares in input order, then the block's tree): the same bits whatever the path.
constexpr int kNormThreads = 256;
template <int K, class T>
__global__ void __launch_bounds__(kNormThreads) rms_norm_kernel(const float* x, int dim, const float* w, float eps, T* out) {
  pdl_wait();
  pdl_trigger();
  const int64_t row = blockIdx.x;
  const float* xr = x + row * dim;
  float v[K], g[K];
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const int i = threadIdx.x + k * kNormThreads;
    v[k] = i < dim ? xr[i] : 0.0f;
    g[k] = i < dim ? w[i] : 0.0f;
  }
  float ss = 0.0f;
#pragma unroll
  for (int k = 0; k < K; ++k) ss += v[k] * v[k];  // out-of-range terms add +0: the sum is unchanged
  const float inv = rsqrtf(block_sum(ss) / dim + eps);
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const int i = threadIdx.x + k * kNormThreads;
    if (i < dim) out[row * dim + i] = from_f32<T>(v[k] * inv * g[k]);
  }
}

// gu: each row's gate and up interleaved, so output i's pair sits at 2i; two outputs per thread.
template <class T>
__global__ void swiglu_kernel(const float* gu, int64_t count, T* out) {
  pdl_wait();
  pdl_trigger();
  const auto* quads = reinterpret_cast<const float4*>(gu);
  auto f = [](float g, float u) { return g / (1.0f + expf(-g)) * u; };
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; 2 * i < count;
       i += gridDim.x * static_cast<int64_t>(blockDim.x)) {
    if (2 * i + 1 < count) {
      const float4 p = quads[i];
      out[2 * i] = from_f32<T>(f(p.x, p.y));
      out[2 * i + 1] = from_f32<T>(f(p.z, p.w));
    } else {
      const float2 p = reinterpret_cast<const float2*>(gu)[2 * i];
      out[2 * i] = from_f32<T>(f(p.x, p.y));
    }
  }
}

__global__ void cast_kernel(const float* x, int64_t count, void* out, DType otype) {
  pdl_wait();
  pdl_trigger();
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += gridDim.x * static_cast<int64_t>(blockDim.x))
    store_as(out, otype, i, x[i]);
}

__global__ void split_kernel(const float* x, int64_t count, void* hi, void* lo, DType otype) {
  pdl_wait();
  pdl_trigger();
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += gridDim.x * static_cast<int64_t>(blockDim.x)) {
    const float v = x[i];
    store_as(hi, otype, i, v);
    store_as(lo, otype, i, v - load_as(hi, otype, i));
  }
}

__global__ void add_bias_kernel(float* y, int64_t count, int dim, const float* b) {
  pdl_wait();
  pdl_trigger();
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += gridDim.x * static_cast<int64_t>(blockDim.x))
    y[i] += b[i % dim];
}

__global__ void embedding_kernel(const void* table, DType ttype, int vocab, int dim, const int32_t* ids, int64_t count, float* x,
                                 unsigned long long* zero) {
  CPPLM_TRACE(4);
  CPPLM_PDL_WAIT();
  pdl_trigger();
  if (zero && blockIdx.x == 0 && threadIdx.x == 0) *zero = 0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += gridDim.x * static_cast<int64_t>(blockDim.x)) {
    const int64_t row = i / dim, c = i % dim;
    int id = ids[row];
    id = id < 0 ? 0 : (id >= vocab ? vocab - 1 : id);  // ids are checked on the host; never read out of bounds
    x[i] = load_as(table, ttype, static_cast<int64_t>(id) * dim + c);
  }
}

// One block of 1024 threads; ties go to the lowest index (std::max_element).
__global__ void argmax_kernel(const float* x, int n, int32_t* out) {
  pdl_wait();
  pdl_trigger();
  x += static_cast<int64_t>(blockIdx.x) * n;  // one block per row
  out += blockIdx.x;
  float best = -INFINITY;
  int idx = n;
  for (int i = threadIdx.x; i < n; i += blockDim.x)
    if (x[i] > best || idx == n) best = x[i], idx = i;
  __shared__ float sv[32];
  __shared__ int si[32];
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, best, o);
    const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
    if (ov > best || (ov == best && oi < idx)) best = ov, idx = oi;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) sv[warp] = best, si[warp] = idx;
  __syncthreads();
  if (warp == 0) {
    best = lane < static_cast<int>(blockDim.x / 32) ? sv[lane] : -INFINITY;
    idx = lane < static_cast<int>(blockDim.x / 32) ? si[lane] : n;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, best, o);
      const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
      if (ov > best || (ov == best && oi < idx)) best = ov, idx = oi;
    }
    if (lane == 0) *out = idx < n ? idx : 0;
  }
}

__global__ void fill_random_kernel(void* w, DType type, int64_t count, float scale, uint64_t seed) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += gridDim.x * static_cast<int64_t>(blockDim.x)) {
    const uint64_t h = splitmix64(seed * 0x100000001b3ull + static_cast<uint64_t>(i));
    const float u = static_cast<float>(h >> 40) * (1.0f / 16777216.0f);  // [0, 1)
    store_as(w, type, i, (2.0f * u - 1.0f) * scale);
  }
}

__global__ void fill_bits_kernel(uint32_t* w, int64_t count, uint64_t seed) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += gridDim.x * static_cast<int64_t>(blockDim.x))
    w[i] = static_cast<uint32_t>(splitmix64(seed * 0x100000001b3ull + static_cast<uint64_t>(i)));
}

__global__ void fill_value_kernel(float* x, int64_t count, float v) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += gridDim.x * static_cast<int64_t>(blockDim.x))
    x[i] = v;
}

// One thread per (token, head of q then k, pair index); HF rotate_half or mlx traditional pairs.
template <class KV>
__global__ void rope_kernel(RopeArgs a, KvLayer c) {
  pdl_wait();
  pdl_trigger();
  const int half = a.head_dim / 2, heads = a.num_heads + a.num_kv_heads;
  const int64_t count = static_cast<int64_t>(a.n) * heads * half;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += gridDim.x * static_cast<int64_t>(blockDim.x)) {
    const int j = static_cast<int>(i % half);
    const int h = static_cast<int>((i / half) % heads);
    const int t = static_cast<int>(i / (static_cast<int64_t>(half) * heads));
    float* v = a.qkv + static_cast<int64_t>(t) * a.ld + static_cast<int64_t>(h) * a.head_dim;  // k follows q's heads
    const int ia = a.traditional ? 2 * j : j, ib = a.traditional ? 2 * j + 1 : j + half;
    const float cs = a.cos[static_cast<int64_t>(t) * half + j], sn = a.sin[static_cast<int64_t>(t) * half + j];
    const float x0 = v[ia], x1 = v[ib];
    const float y0 = x0 * cs - x1 * sn, y1 = x1 * cs + x0 * sn;
    v[ia] = y0;
    v[ib] = y1;
    if (a.append && h >= a.num_heads) {
      const int kvh = h - a.num_heads;
      const int slot = kv_slot(*a.offset + t, c.max_size, c.keep);
      const int64_t base = kv_row(c, kvh, slot) * a.head_dim;
      KV* kc = static_cast<KV*>(c.k);
      KV* vc = static_cast<KV*>(c.v);
      const float* vv = v + static_cast<int64_t>(a.num_kv_heads) * a.head_dim;  // v columns follow k's
      kc[base + ia] = from_f32<KV>(y0);
      kc[base + ib] = from_f32<KV>(y1);
      vc[base + ia] = from_f32<KV>(vv[ia]);
      vc[base + ib] = from_f32<KV>(vv[ib]);
    }
  }
}

template <class KV>
__global__ void kv_append_kernel(const float* qkv, int n, int ld, int k_col, int v_col, int kvh, int d, KvLayer c,
                                 const int* offset) {
  pdl_wait();
  pdl_trigger();
  const int64_t count = static_cast<int64_t>(n) * kvh * d;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += gridDim.x * static_cast<int64_t>(blockDim.x)) {
    const int e = static_cast<int>(i % d), h = static_cast<int>((i / d) % kvh),
              t = static_cast<int>(i / (static_cast<int64_t>(d) * kvh));
    const int pos = *offset + t;
    // In a ring, a later token of this chunk may take the same slot: only the last writer stores.
    if (c.max_size > 0 && pos >= c.keep && pos + (c.max_size - c.keep) < *offset + n) continue;
    const int slot = kv_slot(pos, c.max_size, c.keep);
    const int64_t dst = kv_row(c, h, slot) * d + e;
    const float* row = qkv + static_cast<int64_t>(t) * ld;
    static_cast<KV*>(c.k)[dst] = from_f32<KV>(row[k_col + h * d + e]);
    static_cast<KV*>(c.v)[dst] = from_f32<KV>(row[v_col + h * d + e]);
  }
}

// One warp per (token, kv head, K or V, group): the CPU's 8-bit quantization of the group.
__global__ void kv_append_q8_kernel(const float* qkv, int n, int ld, int k_col, int v_col, int kvh, int d, KvLayer c,
                                    const int* offset) {
  pdl_wait();
  pdl_trigger();
  const int ng = d / c.group;
  const int64_t count = static_cast<int64_t>(n) * kvh * 2 * ng;
  for (int64_t w = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32; w < count;
       w += gridDim.x * static_cast<int64_t>(blockDim.x) / 32) {
    const int g = static_cast<int>(w % ng), kv = static_cast<int>((w / ng) % 2), h = static_cast<int>((w / (2 * ng)) % kvh),
              t = static_cast<int>(w / (static_cast<int64_t>(2) * ng * kvh));
    const int pos = *offset + t;
    if (c.max_size > 0 && pos >= c.keep && pos + (c.max_size - c.keep) < *offset + n) continue;  // as kv_append_kernel
    const int64_t row = kv_row(c, h, kv_slot(pos, c.max_size, c.keep));
    const float* src = qkv + static_cast<int64_t>(t) * ld + (kv ? v_col : k_col) + h * d + g * c.group;
    quantize_q8_warp(src, c.group, static_cast<uint8_t*>(kv ? c.v : c.k) + row * d + g * c.group,
                     (kv ? c.vsb : c.ksb) + row * ng + g);
  }
}

}  // namespace

CPPLM_TRACE_ATTACH(trace_attach_kernels)

void gemv(const CudaContext& ctx, const GemvArgs& a) {
  if (a.n <= 0 || a.out <= 0) return;
  CPPLM_CHECK(!a.merge_splits || (a.n == 1 && a.mode != GemvMode::kSwiGlu && !a.norm_w &&
                                  gemv_merges_partials(a.wtype, a.bits, a.in) && a.merge_splits <= kMaxGemvMergeSplits &&
                                  a.merge_head_dim > 0 && a.merge_head_dim % 4 == 0 && a.in % a.merge_head_dim == 0),
              "gemv: merging attention partials needs one row of float weights (no SwiGLU, no norm), at most "
              "kMaxGemvMergeSplits splits and head_dim % 4 == 0");
  if (a.bits) return gemv_quant(ctx, a);
  switch (a.wtype) {
    case DType::BF16: return launch_gemv<__nv_bfloat16>(ctx, a);
    case DType::F16: return launch_gemv<__half>(ctx, a);
    case DType::F32: return launch_gemv<float>(ctx, a);
    default: throw Error("gemv: unsupported weight dtype " + std::string(dtype_name(a.wtype)));
  }
}

bool gemv_merges_partials(DType wtype, int bits, int in) {
  const bool float_w = wtype == DType::BF16 || wtype == DType::F16 || wtype == DType::F32;
  return bits == 0 && float_w && in % static_cast<int>(16 / dtype_size(wtype)) == 0;  // launch_gemv's gemv1 path
}

void gemv_reserve_smem(int max_in, int norm_in) {
  const int bytes = max_in * static_cast<int>(sizeof(float));
  if (bytes > 48 * 1024) {
    CPPLM_CUDA_CHECK(cudaFuncSetAttribute(gemv_kernel<__nv_bfloat16, 1>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
    CPPLM_CUDA_CHECK(cudaFuncSetAttribute(gemv_kernel<__half, 1>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
    CPPLM_CUDA_CHECK(cudaFuncSetAttribute(gemv_kernel<float, 1>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  }
  // Each format's own layout decides (the quantized ones pad x and add per-vector sums).
  reserve_gemv1<FloatFmt<__nv_bfloat16>>(max_in, norm_in);
  reserve_gemv1<FloatFmt<__half>>(max_in, norm_in);
  reserve_gemv1<FloatFmt<float>>(max_in, norm_in);
  reserve_gemv1_quant(max_in, norm_in);
}

void gemm(const CudaContext& ctx, const void* w, DType wtype, int out, int in, const void* x, int n, float* y, bool accumulate,
          int ldy) {
  // Row-major Y[n, out] = X[n, in] Wᵀ is column-major Yᵀ[out, n] = W[in, out]ᵀ · Xᵀ[in, n].
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  cudaDataType_t t = wtype == DType::BF16 ? CUDA_R_16BF : wtype == DType::F16 ? CUDA_R_16F : CUDA_R_32F;
  CPPLM_CUBLAS_CHECK(cublas_api().gemm_ex(ctx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &alpha, w, t, in, x, t, in, &beta,
                                          y, CUDA_R_32F, ldy ? ldy : out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void rms_norm(const CudaContext& ctx, const float* x, int n, int dim, const float* w, float eps, void* out, DType otype) {
  if (n <= 0) return;
  const int per = (dim + kNormThreads - 1) / kNormThreads;
  CPPLM_CHECK(per <= 64, "rms_norm: rows of at most 16,384 inputs");
  with_float_type(otype, [&](auto o) {
    using T = decltype(o);
    auto kernel = per <= 4    ? rms_norm_kernel<4, T>
                  : per <= 8  ? rms_norm_kernel<8, T>
                  : per <= 16 ? rms_norm_kernel<16, T>
                  : per <= 32 ? rms_norm_kernel<32, T>
                              : rms_norm_kernel<64, T>;
    launch(ctx.stream(), ctx.pdl(), kernel, dim3(n), dim3(kNormThreads), 0, x, dim, w, eps, static_cast<T*>(out));
  });
  CPPLM_CUDA_LAUNCHED();
}

void swiglu(const CudaContext& ctx, const float* gu, int n, int inter, void* out, DType otype) {
  const int64_t count = static_cast<int64_t>(n) * inter;
  if (count == 0) return;
  with_float_type(otype, [&](auto o) {
    using T = decltype(o);
    launch(ctx.stream(), ctx.pdl(), swiglu_kernel<T>, dim3(grid_for((count + 1) / 2)), dim3(256), 0, gu, count,
           static_cast<T*>(out));
  });
  CPPLM_CUDA_LAUNCHED();
}

void cast(const CudaContext& ctx, const float* x, int64_t count, void* out, DType otype) {
  if (count == 0) return;
  launch(ctx.stream(), ctx.pdl(), cast_kernel, dim3(grid_for(count)), dim3(256), 0, x, count, out, otype);
  CPPLM_CUDA_LAUNCHED();
}

void split(const CudaContext& ctx, const float* x, int64_t count, void* hi, void* lo, DType otype) {
  if (count == 0) return;
  launch(ctx.stream(), ctx.pdl(), split_kernel, dim3(grid_for(count)), dim3(256), 0, x, count, hi, lo, otype);
  CPPLM_CUDA_LAUNCHED();
}

void add_bias(const CudaContext& ctx, float* y, int n, int dim, const float* b) {
  const int64_t count = static_cast<int64_t>(n) * dim;
  if (count == 0) return;
  launch(ctx.stream(), ctx.pdl(), add_bias_kernel, dim3(grid_for(count)), dim3(256), 0, y, count, dim, b);
  CPPLM_CUDA_LAUNCHED();
}

void embedding(const CudaContext& ctx, const void* table, DType ttype, int vocab, int dim, const int32_t* ids, int n, float* x,
               unsigned long long* zero) {
  const int64_t count = static_cast<int64_t>(n) * dim;
  if (count == 0) return;
  launch(ctx.stream(), ctx.pdl(), embedding_kernel, dim3(grid_for(count)), dim3(256), 0, table, ttype, vocab, dim, ids, count, x,
         zero);
  CPPLM_CUDA_LAUNCHED();
}

void argmax(const CudaContext& ctx, const float* x, int n, int32_t* out, int rows) {
  if (rows <= 0) return;
  launch(ctx.stream(), ctx.pdl(), argmax_kernel, dim3(rows), dim3(1024), 0, x, n, out);
  CPPLM_CUDA_LAUNCHED();
}

void fill_random(const CudaContext& ctx, void* w, DType type, int64_t count, float scale, uint64_t seed) {
  if (count == 0) return;
  fill_random_kernel<<<grid_for(count), 256, 0, ctx.stream()>>>(w, type, count, scale, seed);
  CPPLM_CUDA_LAUNCHED();
}

void fill_random_bits(const CudaContext& ctx, uint32_t* w, int64_t count, uint64_t seed) {
  if (count == 0) return;
  fill_bits_kernel<<<grid_for(count), 256, 0, ctx.stream()>>>(w, count, seed);
  CPPLM_CUDA_LAUNCHED();
}

void fill_value(const CudaContext& ctx, float* x, int64_t count, float v) {
  if (count == 0) return;
  fill_value_kernel<<<grid_for(count), 256, 0, ctx.stream()>>>(x, count, v);
  CPPLM_CUDA_LAUNCHED();
}

void rope(const CudaContext& ctx, const RopeArgs& a, DType kv_type) {
  const int64_t count = static_cast<int64_t>(a.n) * (a.num_heads + a.num_kv_heads) * (a.head_dim / 2);
  if (count == 0) return;
  const KvLayer c = a.append ? *a.append : KvLayer{};
  CPPLM_CHECK(!a.append || kv_type != DType::U8, "rope: an 8-bit cache is appended by kv_append");
  const dim3 grid(grid_for(count));
  if (kv_type == DType::BF16) launch(ctx.stream(), ctx.pdl(), rope_kernel<__nv_bfloat16>, grid, dim3(256), 0, a, c);
  else if (kv_type == DType::F16) launch(ctx.stream(), ctx.pdl(), rope_kernel<__half>, grid, dim3(256), 0, a, c);
  else launch(ctx.stream(), ctx.pdl(), rope_kernel<float>, grid, dim3(256), 0, a, c);
  CPPLM_CUDA_LAUNCHED();
}

void kv_append(const CudaContext& ctx, const float* qkv, int n, int ld, int k_col, int v_col, int num_kv_heads, int head_dim,
               const KvLayer& c, const int* offset, DType kv_type) {
  const int64_t count = static_cast<int64_t>(n) * num_kv_heads * head_dim;
  if (count == 0) return;
  if (kv_type == DType::U8) {
    const int64_t threads = static_cast<int64_t>(n) * num_kv_heads * 2 * (head_dim / c.group) * 32;
    launch(ctx.stream(), ctx.pdl(), kv_append_q8_kernel, dim3(grid_for(threads)), dim3(256), 0, qkv, n, ld, k_col, v_col,
           num_kv_heads, head_dim, c, offset);
  } else if (kv_type == DType::BF16)
    launch(ctx.stream(), ctx.pdl(), kv_append_kernel<__nv_bfloat16>, dim3(grid_for(count)), dim3(256), 0, qkv, n, ld, k_col,
           v_col, num_kv_heads, head_dim, c, offset);
  else if (kv_type == DType::F16)
    launch(ctx.stream(), ctx.pdl(), kv_append_kernel<__half>, dim3(grid_for(count)), dim3(256), 0, qkv, n, ld, k_col, v_col,
           num_kv_heads, head_dim, c, offset);
  else
    launch(ctx.stream(), ctx.pdl(), kv_append_kernel<float>, dim3(grid_for(count)), dim3(256), 0, qkv, n, ld, k_col, v_col,
           num_kv_heads, head_dim, c, offset);
  CPPLM_CUDA_LAUNCHED();
}

}  // namespace cpplm::cuda
