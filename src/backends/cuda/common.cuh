// Device helpers shared by the CUDA kernels: dtype loads/stores, 16-byte unpacking, warp/block reductions.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "core/dtype.h"
#include "core/error.h"
#include "core/kv_index.h"

namespace cpplm::cuda {

// Programmatic dependent launch (sm_90). Every kernel calls pdl_wait() before it touches memory
// another kernel writes (it returns once the previous kernel has finished and its writes are
// visible), then pdl_trigger() so that the next kernel may be scheduled: at most two kernels are
// resident at a time. Launched without the attribute, both are no-ops.
__device__ __forceinline__ void pdl_wait() { asm volatile("griddepcontrol.wait;" ::: "memory"); }
__device__ __forceinline__ void pdl_trigger() { asm volatile("griddepcontrol.launch_dependents;" ::: "memory"); }

// Decode timeline tracing, in builds with -DCPPLM_CUDA_TRACE only (performance work): thread 0 of
// every block of a traced kernel records its start, the return of its PDL wait and its end
// (%globaltimer, ns) into a buffer that CudaModel::decode fills for one step (CPPLM_TRACE=file).
#ifdef CPPLM_CUDA_TRACE
struct TraceRec {
  unsigned long long grid;  // %gridid: one per launch
  unsigned tag, block, sm, pad;
  unsigned long long t0, tw, te, m0, m1;  // m0, m1: CPPLM_TRACE_MARK(0 / 1), 0 when not reached
};
static __device__ char* g_trace;  // one per translation unit: [0] count, [1] capacity; records from byte 64
__device__ __forceinline__ unsigned long long global_ns() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}
struct TraceScope {
  unsigned long long t0 = 0, tw = 0, m[2] = {0, 0};
  unsigned tag;
  __device__ explicit TraceScope(unsigned t) : tag(t) {
    if (threadIdx.x == 0) t0 = global_ns();
  }
  __device__ void waited() {
    if (threadIdx.x == 0) tw = global_ns();
  }
  __device__ void mark(int i) {
    if (threadIdx.x == 0) m[i] = global_ns();
  }
  __device__ ~TraceScope() {
    if (threadIdx.x != 0 || !g_trace) return;
    unsigned long long grid;
    unsigned sm;
    asm volatile("mov.u64 %0, %%gridid;" : "=l"(grid));
    asm volatile("mov.u32 %0, %%smid;" : "=r"(sm));
    unsigned* hdr = reinterpret_cast<unsigned*>(g_trace);
    const unsigned i = atomicAdd(hdr, 1u);
    if (i < hdr[1])
      reinterpret_cast<TraceRec*>(g_trace + 64)[i] = {grid, tag, blockIdx.x + blockIdx.y * gridDim.x, sm, 0, t0, tw, global_ns(),
                                                      m[0], m[1]};
  }
};
#define CPPLM_TRACE(tag) TraceScope cpplm_trace_(tag)
#define CPPLM_PDL_WAIT() (pdl_wait(), cpplm_trace_.waited())
#define CPPLM_TRACE_MARK(i) cpplm_trace_.mark(i)
#define CPPLM_TRACE_ATTACH(fn) \
  void fn(void* p) { CPPLM_CUDA_CHECK(cudaMemcpyToSymbol(g_trace, &p, sizeof(p))); }
#else
#define CPPLM_TRACE(tag) ((void)0)
#define CPPLM_PDL_WAIT() pdl_wait()
#define CPPLM_TRACE_MARK(i) ((void)0)
#define CPPLM_TRACE_ATTACH(fn)
#endif

__device__ __forceinline__ uint32_t smem_addr(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }

// 16 bytes global -> shared, zero-filled when !valid (cp.async.cg: through L2 only).
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(smem_addr(dst)), "l"(src), "r"(valid ? 16 : 0) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
}

// Starts moving [p, p + bytes) into L2 (bulk prefetch; p and bytes multiples of 16).
__device__ __forceinline__ void prefetch_l2(const void* p, uint32_t bytes) {
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(p), "r"(bytes) : "memory");
}

// Launches `kernel` on `stream`, as a programmatic dependent of the stream's previous kernel when `pdl`.
template <class... Params, class... Args>
void launch(cudaStream_t stream, bool pdl, void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, Args&&... args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl ? 1 : 0;
  const cudaError_t e = cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...);
  if (e != cudaSuccess)
    throw Error(std::string("CUDA error in cudaLaunchKernelEx: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

__device__ __forceinline__ float to_f32(float v) { return v; }
__device__ __forceinline__ float to_f32(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T>
__device__ __forceinline__ T from_f32(float v);
template <>
__device__ __forceinline__ float from_f32<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half from_f32<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// Calls f with a value of the element type of run-time dtype t (BF16, F16, else F32), so that a kernel
// templated on that type is chosen once per launch.
template <class F>
void with_float_type(DType t, F&& f) {
  if (t == DType::BF16) f(__nv_bfloat16{});
  else if (t == DType::F16) f(__half{});
  else f(0.0f);
}

// Stores v as element i of an array of run-time dtype t (F32, F16 or BF16).
__device__ __forceinline__ void store_as(void* out, DType t, int64_t i, float v) {
  if (t == DType::BF16) static_cast<__nv_bfloat16*>(out)[i] = __float2bfloat16_rn(v);
  else if (t == DType::F16) static_cast<__half*>(out)[i] = __float2half_rn(v);
  else static_cast<float*>(out)[i] = v;
}
__device__ __forceinline__ float load_as(const void* in, DType t, int64_t i) {
  if (t == DType::BF16) return __bfloat162float(static_cast<const __nv_bfloat16*>(in)[i]);
  if (t == DType::F16) return __half2float(static_cast<const __half*>(in)[i]);
  return static_cast<const float*>(in)[i];
}

// The 16/sizeof(T) elements of a 16-byte vector as f32.
template <class T>
__device__ __forceinline__ void unpack16(const uint4& v, float* f);
template <>
__device__ __forceinline__ void unpack16<float>(const uint4& v, float* f) {
  f[0] = __uint_as_float(v.x), f[1] = __uint_as_float(v.y), f[2] = __uint_as_float(v.z), f[3] = __uint_as_float(v.w);
}
template <>
__device__ __forceinline__ void unpack16<__nv_bfloat16>(const uint4& v, float* f) {
  const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    f[2 * i] = __uint_as_float(w[i] << 16);
    f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
  }
}
template <>
__device__ __forceinline__ void unpack16<__half>(const uint4& v, float* f) {
  const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    __half2 h = *reinterpret_cast<const __half2*>(&w[i]);
    float2 p = __half22float2(h);
    f[2 * i] = p.x;
    f[2 * i + 1] = p.y;
  }
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ __forceinline__ float warp_min(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fminf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// mlx's 8-bit affine quantization of one group of g values by a whole warp, with the expressions
// of ops/quantize.cpp's quantize_affine_row (f32 scale and bias), so that codes and pairs equal the
// CPU's: the extreme of larger magnitude is represented exactly. Every lane returns; lane 0 stores *sb.
__device__ __forceinline__ void quantize_q8_warp(const float* x, int g, uint8_t* codes, float2* sb) {
  const int lane = threadIdx.x % 32;
  float lo = INFINITY, hi = -INFINITY;
  for (int j = lane; j < g; j += 32) lo = fminf(lo, x[j]), hi = fmaxf(hi, x[j]);
  lo = warp_min(lo), hi = warp_max(hi);
  const bool min_edge = fabsf(lo) > fabsf(hi);
  float scale = fmaxf(__fdiv_rn(hi - lo, 255.0f), 1e-7f);
  if (!min_edge) scale = -scale;
  const float edge = min_edge ? lo : hi;
  const float q0 = rintf(__fdiv_rn(edge, scale));
  if (q0 != 0.0f) scale = __fdiv_rn(edge, q0);
  const float bias = q0 == 0.0f ? 0.0f : edge;
  for (int j = lane; j < g; j += 32)
    codes[j] = static_cast<uint8_t>(fminf(fmaxf(rintf(__fdiv_rn(x[j] - bias, scale)), 0.0f), 255.0f));
  if (lane == 0) *sb = make_float2(scale, bias);
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
__device__ __forceinline__ float block_sum(float v) {
  __shared__ float part[32];
  __shared__ float total;
  v = warp_sum(v);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) part[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float s = lane < static_cast<int>(blockDim.x / 32) ? part[lane] : 0.0f;
    s = warp_sum(s);
    if (lane == 0) total = s;
  }
  __syncthreads();
  return total;
}
__device__ __forceinline__ float block_max(float v) {
  __shared__ float part[32];
  __shared__ float total;
  v = warp_max(v);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) part[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float s = lane < static_cast<int>(blockDim.x / 32) ? part[lane] : -INFINITY;
    s = warp_max(s);
    if (lane == 0) total = s;
  }
  __syncthreads();
  return total;
}

// Blocks of `threads` for a grid-stride loop over count elements (at most 65,535).
inline int grid_for(int64_t count, int threads = 256) {
  return static_cast<int>(std::min<int64_t>((count + threads - 1) / threads, 65535));
}

// A 64-bit hash (splitmix64's finalizer): deterministic random fills.
__device__ __forceinline__ uint64_t splitmix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace cpplm::cuda
