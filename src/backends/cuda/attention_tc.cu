// Prefill attention on bf16 tensor cores (flash-attention style): for chunks whose keys are all in
// an unbounded bf16 cache (the chunk's own appended by the RoPE kernel), causal without a window
// (windows come with ring caches, which take attention.cu's kernels), head_dim 32, 64 or 128.
#include <algorithm>

#include "backends/cuda/attention.cuh"
#include "backends/cuda/mma.cuh"

namespace cpplm::cuda {
namespace {

constexpr int kTcRows = 64;  // (query, head) rows per block: 16 per warp
constexpr int kTcKeys = 64;  // keys per tile
constexpr int kTcWarps = 4;
constexpr int kTcPad = 8;  // bf16 elements of padding per shared row: ldmatrix rows hit distinct banks

// Work mapping: one block per (kv head, 64 / group query tokens): its 64 rows are (token, head of
// the group) pairs, so the group shares every K/V tile. Warp w owns rows 16w..16w+15: Q in
// registers (A fragments), S = Q·Kᵀ per 64-key tile on tensor cores, online softmax in f32 on the
// accumulators (each lane holds 2 rows × 16 keys), P reused as the A operand of P·V (the m16n8
// accumulator layout is the m16n8k16 A layout), O in f32 registers. K/V tiles come by cp.async,
// double-buffered (an 8-bit cache's are dequantized to bf16 on the way, by plain loads); keys past
// the block's last query are zero-filled. Cache row of key j: j.
template <class KV, int D>
__global__ void __launch_bounds__(kTcWarps * 32) attention_tc_kernel(AttnArgs a, int qt) {
  constexpr int S = D + kTcPad;  // shared row stride (elements)
  extern __shared__ __align__(16) __nv_bfloat16 tsm[];
  __nv_bfloat16* qs = tsm;                   // [kTcRows][S]
  __nv_bfloat16* ks = qs + kTcRows * S;      // [2][kTcKeys][S]
  __nv_bfloat16* vs = ks + 2 * kTcKeys * S;  // [2][kTcKeys][S]
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g8 = lane / 4, t4 = lane % 4;
  const int group = a.num_heads / a.num_kv_heads, kvh = blockIdx.x, q0 = blockIdx.y * qt;
  const int rows = min(qt, a.n - q0) * group;
  pdl_wait();
  pdl_trigger();
  const int offset = *a.offset;
  const int pmax = offset + q0 + rows / group - 1;  // the block's last query position
  const KV* kc = static_cast<const KV*>(a.cache.k);
  const KV* vc = static_cast<const KV*>(a.cache.v);

  auto load_tile = [&](int j0, int buf) {
    constexpr int kChunks = D / 8;  // 16-byte pieces per row
    for (int c = tid; c < kTcKeys * kChunks; c += kTcWarps * 32) {
      const int kk = c / kChunks, part = c % kChunks, j = j0 + kk;
      const bool valid = j <= pmax;
      const int64_t row = kv_row(a.cache, kvh, valid ? j : 0);  // unbounded caches only: slot j
      if constexpr (std::is_same_v<KV, uint8_t>) {
        const int ng = D / a.cache.group, g = part * 8 / a.cache.group;
        for (int kv = 0; kv < 2; ++kv) {
          uint4 b = make_uint4(0, 0, 0, 0);
          if (valid) {
            float f[8];
            unpack_chunk<KV>(__ldg(reinterpret_cast<const uint2*>((kv ? vc : kc) + row * D) + part),
                             __ldg((kv ? a.cache.vsb : a.cache.ksb) + row * ng + g), f);
            b = make_uint4(pack_bf16(f[0], f[1]), pack_bf16(f[2], f[3]), pack_bf16(f[4], f[5]), pack_bf16(f[6], f[7]));
          }
          *reinterpret_cast<uint4*>((kv ? vs : ks) + (buf * kTcKeys + kk) * S + part * 8) = b;
        }
      } else {
        cp_async16(ks + (buf * kTcKeys + kk) * S + part * 8, kc + row * D + part * 8, valid);
        cp_async16(vs + (buf * kTcKeys + kk) * S + part * 8, vc + row * D + part * 8, valid);
      }
    }
    cp_async_commit();
  };
  int j0 = 0;
  load_tile(0, 0);  // pmax >= 0: the block has a query

  // Q rows (f32, RoPE applied) to bf16 in shared memory, then A fragments in registers.
  for (int i = tid; i < kTcRows * (D / 4); i += kTcWarps * 32) {
    const int r = i / (D / 4), e = (i % (D / 4)) * 4;
    float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (r < rows)
      v = *reinterpret_cast<const float4*>(a.qkv + static_cast<int64_t>(q0 + r / group) * a.ld +
                                           static_cast<int64_t>(kvh * group + r % group) * D + e);
    uint2 p;
    p.x = pack_bf16(v.x, v.y);
    p.y = pack_bf16(v.z, v.w);
    *reinterpret_cast<uint2*>(qs + r * S + e) = p;
  }
  __syncthreads();
  uint32_t qf[D / 16][4];
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) ldmatrix_x4(qf[kk], qs + (warp * 16 + (lane & 15)) * S + kk * 16 + (lane >> 4) * 8);

  // This lane's two rows: r0 = 16w + g8 and r0 + 8; their query positions.
  const int r0 = warp * 16 + g8;
  const int p0 = offset + q0 + min(r0, rows - 1) / group, p1 = offset + q0 + min(r0 + 8, rows - 1) / group;
  const float sl2 = a.scale * 1.4426950408889634f;  // scores to log2 units
  float o[D / 8][4], m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
#pragma unroll
  for (int n = 0; n < D / 8; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;

  for (int buf = 0; j0 <= pmax; buf ^= 1) {
    const int jn = j0 + kTcKeys;
    if (jn <= pmax) {
      load_tile(jn, buf ^ 1);
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const __nv_bfloat16* kt = ks + buf * kTcKeys * S;
    const __nv_bfloat16* vt = vs + buf * kTcKeys * S;
    float s[kTcKeys / 8][4];
    qk_tiles<kTcKeys / 8, D, S>(s, qf, kt, lane);
    // Mask, then the online softmax of rows r0 (elements 0, 1) and r0 + 8 (elements 2, 3).
    float mx[2] = {m[0], m[1]};
#pragma unroll
    for (int n = 0; n < kTcKeys / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int j = j0 + n * 8 + 2 * t4 + (e & 1), p = e < 2 ? p0 : p1;
        s[n][e] = j <= p ? s[n][e] : -INFINITY;
        mx[e / 2] = fmaxf(mx[e / 2], s[n][e]);
      }
    float corr[2], base[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
      mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
      base[i] = mx[i] * sl2;                  // finite: key 0 is visible to every row, in the first tile
      corr[i] = exp2f(m[i] * sl2 - base[i]);  // 0 after the first tile's m = -inf
      m[i] = mx[i];
      l[i] *= corr[i];
    }
#pragma unroll
    for (int n = 0; n < D / 8; ++n) o[n][0] *= corr[0], o[n][1] *= corr[0], o[n][2] *= corr[1], o[n][3] *= corr[1];
    uint32_t pf[kTcKeys / 16][4];  // P as A fragments, 16 keys per k-step
#pragma unroll
    for (int n = 0; n < kTcKeys / 8; ++n) {
      float pv[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) pv[e] = exp2f(s[n][e] * sl2 - base[e / 2]), l[e / 2] += pv[e];
      pf[n / 2][(n & 1) * 2 + 0] = pack_bf16(pv[0], pv[1]);
      pf[n / 2][(n & 1) * 2 + 1] = pack_bf16(pv[2], pv[3]);
    }
#pragma unroll
    for (int kk = 0; kk < kTcKeys / 16; ++kk) pv_tiles<D, S>(o, pf[kk], vt + kk * 16 * S, lane);
    __syncthreads();  // this buffer is refilled two tiles on
    j0 = jn;
  }
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 1);
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 2);
  }
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int r = r0 + 8 * i;
    if (r >= rows) continue;
    float* out =
        a.out + static_cast<int64_t>(q0 + r / group) * a.num_heads * D + static_cast<int64_t>(kvh * group + r % group) * D;
    const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
      *reinterpret_cast<float2*>(out + n * 8 + 2 * t4) = make_float2(o[n][2 * i] * inv, o[n][2 * i + 1] * inv);
  }
}

template <class KV, int D>
void launch_tc(const CudaContext& ctx, const AttnArgs& a) {
  const int group = a.num_heads / a.num_kv_heads, qt = kTcRows / group;
  const size_t smem = static_cast<size_t>(kTcRows + 4 * kTcKeys) * (D + kTcPad) * sizeof(__nv_bfloat16);
  static bool attr = [&] {
    CPPLM_CUDA_CHECK(
        cudaFuncSetAttribute(attention_tc_kernel<KV, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    return true;
  }();
  (void)attr;
  launch(ctx.stream(), ctx.pdl(), attention_tc_kernel<KV, D>, dim3(a.num_kv_heads, (a.n + qt - 1) / qt), dim3(kTcWarps * 32),
         smem, a, qt);
}

}  // namespace

bool attention_tc_supported(const AttnArgs& a, DType kv_type) {
  const int group = a.num_heads / a.num_kv_heads;
  return (kv_type == DType::BF16 || kv_type == DType::U8) && a.tensor_cores && a.window == 0 && a.cache.max_size == 0 &&
         a.splits == 1 && a.rope_cos == nullptr && (a.head_dim == 32 || a.head_dim == 64 || a.head_dim == 128) &&
         a.num_heads % a.num_kv_heads == 0 && group <= kTcRows && kTcRows % group == 0;
}

template <class KV>
void attention_tc_as(const CudaContext& ctx, const AttnArgs& a) {
  if (a.head_dim == 32) launch_tc<KV, 32>(ctx, a);
  else if (a.head_dim == 64) launch_tc<KV, 64>(ctx, a);
  else launch_tc<KV, 128>(ctx, a);
}

void attention_tc(const CudaContext& ctx, const AttnArgs& a, DType kv_type) {
  if (kv_type == DType::U8) attention_tc_as<uint8_t>(ctx, a);
  else attention_tc_as<__nv_bfloat16>(ctx, a);
}

}  // namespace cpplm::cuda
