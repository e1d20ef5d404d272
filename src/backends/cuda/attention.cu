// Causal / sliding-window attention over a KV cache plus the step's new keys, online softmax, GQA, split-KV.
#include <algorithm>

#include "backends/cuda/attention.cuh"
#include "backends/cuda/kernels.h"

namespace cpplm::cuda {
namespace {

constexpr int kAttnThreads = 128;  // keys per tile: one thread scores one key

// q · row over d elements; 16-byte loads, kUnroll in flight, when d allows.
template <class T, int kUnroll>
__device__ __forceinline__ float dot_row(const T* row, const float* qs, int d) {
  constexpr int kVec = 16 / sizeof(T);
  float s = 0.0f;
  if (d % kVec == 0) {
    const uint4* r = reinterpret_cast<const uint4*>(row);
#pragma unroll kUnroll
    for (int c = 0; c < d / kVec; ++c) {
      float f[kVec];
      unpack16<T>(__ldg(r + c), f);
#pragma unroll
      for (int e = 0; e < kVec; ++e) s = fmaf(f[e], qs[c * kVec + e], s);
    }
  } else {
    for (int e = 0; e < d; ++e) s = fmaf(to_f32(row[e]), qs[e], s);
  }
  return s;
}

// q · cache row `row`'s key over d elements (an 8-bit row through its groups' pairs).
template <class KV>
__device__ __forceinline__ float dot_key(const KvLayer& c, int64_t row, const float* qs, int d) {
  if constexpr (std::is_same_v<KV, uint8_t>) {
    float s = 0.0f;
    for (int e = 0; e < d; ++e) s = fmaf(kv_at<KV>(c, false, row, d, e), qs[e], s);
    return s;
  } else {
    return dot_row<KV, 16>(static_cast<const KV*>(c.k) + row * d, qs, d);
  }
}

// acc + Σ_kk ps[kk] · V[rows[kk]][e] over the nc cached keys of a tile, kUnroll loads in flight.
template <class KV, int kUnroll>
__device__ __forceinline__ float cached_values(const KvLayer& c, const int* rows, const float* ps, int nc, int d, int e,
                                               float acc) {
#pragma unroll kUnroll
  for (int kk = 0; kk < nc; ++kk) acc = fmaf(ps[kk], kv_at<KV>(c, true, rows[kk], d, e), acc);
  return acc;
}

// Work mapping: one block per (query head, query token, key split); each tile of 128 visible
// keys is scored one key per thread (16 of its K row's 16-byte loads in flight), then every
// thread accumulates its own output dimensions (d <= 256: dims tid and tid + 128) over the tile's
// weighted values: first the cached keys (row indices staged in shared memory, 16 loads in
// flight), then the step's new keys. With splits, the last block of a (token, head) to finish
// merges the partial results. With RoPE fused (decode), the block rotates q and the new key into
// shared memory, and one block per kv head appends the new k and v. Before waiting on the
// previous kernel (PDL), a block asks L2 for its cached K/V rows.
template <class KV>
__global__ void __launch_bounds__(kAttnThreads) attention_kernel(AttnArgs a) {
  extern __shared__ float sm[];
  __shared__ int rows_s[kAttnThreads];
  const int h = blockIdx.x, i = blockIdx.y, s = blockIdx.z, tid = threadIdx.x;
  const int d = a.head_dim, group = a.num_heads / a.num_kv_heads, kvh = h / group;
  const int offset = *a.offset;  // written by a copy before the launch, not by a kernel
  int start, sinks;
  const int cnt = visible_keys(a, offset, i, &start, &sinks);
  const int chunk = (cnt + a.splits - 1) / a.splits;
  const int lo = min(cnt, s * chunk), hi = min(cnt, lo + chunk);
  if (tid == 0 && h % group == 0 && a.cache.max_size == 0 && !a.cache.blocks && start == 0 && min(hi, offset) > lo) {
    // The block's cached K/V rows [lo, min(hi, offset)) are contiguous and were written by earlier
    // steps: start moving them to L2 while the previous kernel (qkv projection) finishes.
    const size_t at = (static_cast<size_t>(kvh) * a.cache.capacity + lo) * d * sizeof(KV);
    const uint32_t bytes = static_cast<uint32_t>((min(hi, offset) - lo) * d * sizeof(KV));
    prefetch_l2(static_cast<const char*>(a.cache.k) + at, bytes);
    prefetch_l2(static_cast<const char*>(a.cache.v) + at, bytes);
  }
  pdl_wait();
  pdl_trigger();
  float* qs = sm;
  float* ps = sm + d;
  float* kn = ps + kAttnThreads;  // fused RoPE: the new key, rotated [d]
  const float* q = a.qkv + static_cast<int64_t>(i) * a.ld + static_cast<int64_t>(h) * d;
  const int k_col = a.num_heads * d + kvh * d, v_col = (a.num_heads + a.num_kv_heads) * d + kvh * d;
  const bool fused_rope = a.rope_cos != nullptr;  // n == 1
  if (fused_rope) {
    const float* kr = a.qkv + k_col;
    for (int j = tid; j < d / 2; j += kAttnThreads) {  // HF rotate_half or mlx traditional pairs
      const int ia = a.rope_traditional ? 2 * j : j, ib = a.rope_traditional ? 2 * j + 1 : j + d / 2;
      const float cs = a.rope_cos[j], sn = a.rope_sin[j], x0 = q[ia], x1 = q[ib], k0 = kr[ia], k1 = kr[ib];
      qs[ia] = x0 * cs - x1 * sn;
      qs[ib] = x1 * cs + x0 * sn;
      kn[ia] = k0 * cs - k1 * sn;
      kn[ib] = k1 * cs + k0 * sn;
    }
    __syncthreads();
    if (s == 0 && h % group == 0)  // one block per kv head appends the new key and value
      kv_store_row<KV>(a.cache, kv_row(a.cache, kvh, kv_slot(offset, a.cache.max_size, a.cache.keep)), d, kn, a.qkv + v_col);
  } else {
    for (int e = tid; e < d; e += kAttnThreads) qs[e] = q[e];
  }
  __syncthreads();
  auto key_of = [&](int idx) { return idx < sinks ? idx : start + idx - sinks; };

  float m = -INFINITY, l = 0.0f, acc0 = 0.0f, acc1 = 0.0f;
  for (int base = lo; base < hi; base += kAttnThreads) {
    const int idx = base + tid;
    float sc = -INFINITY;
    if (idx < hi) {
      const int j = key_of(idx);
      float dot = 0.0f;
      if (j >= offset && fused_rope) {
        for (int e = 0; e < d; ++e) dot = fmaf(kn[e], qs[e], dot);
      } else if (j >= offset) {
        dot = dot_row<float, 16>(a.qkv + static_cast<int64_t>(j - offset) * a.ld + k_col, qs, d);
      } else {
        const int row = static_cast<int>(kv_row(a.cache, kvh, kv_slot(j, a.cache.max_size, a.cache.keep)));
        rows_s[tid] = row;
        dot = dot_key<KV>(a.cache, row, qs, d);
      }
      sc = dot * a.scale;
    }
    const float m_new = fmaxf(m, block_max(sc));
    const float p = idx < hi ? expf(sc - m_new) : 0.0f;
    ps[tid] = p;
    const float psum = block_sum(p);  // its barriers also publish ps and rows_s
    const float r = expf(m - m_new);
    l = l * r + psum;
    acc0 *= r;
    acc1 *= r;
    const int nk = min(kAttnThreads, hi - base);
    // Keys are in increasing position order: the cached ones (j < offset) come first.
    int nc = 0;
    {
      int lo_k = 0, hi_k = nk;  // first kk with key_of(base + kk) >= offset
      while (lo_k < hi_k) {
        const int mid = (lo_k + hi_k) / 2;
        if (key_of(base + mid) < offset) lo_k = mid + 1;
        else hi_k = mid;
      }
      nc = lo_k;
    }
    if (tid < d) {
      acc0 = cached_values<KV, 16>(a.cache, rows_s, ps, nc, d, tid, acc0);
      for (int kk = nc; kk < nk; ++kk)
        acc0 = fmaf(ps[kk], a.qkv[static_cast<int64_t>(key_of(base + kk) - offset) * a.ld + v_col + tid], acc0);
    }
    if (tid + kAttnThreads < d) {
      const int e = tid + kAttnThreads;
      acc1 = cached_values<KV, 16>(a.cache, rows_s, ps, nc, d, e, acc1);
      for (int kk = nc; kk < nk; ++kk)
        acc1 = fmaf(ps[kk], a.qkv[static_cast<int64_t>(key_of(base + kk) - offset) * a.ld + v_col + e], acc1);
    }
    m = m_new;
    __syncthreads();  // ps and rows_s are rewritten by the next tile
  }
  const int64_t row = static_cast<int64_t>(i) * a.num_heads + h;
  if (a.splits == 1) {
    float* o = a.out + row * d;
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    if (tid < d) o[tid] = acc0 * inv;
    if (tid + kAttnThreads < d) o[tid + kAttnThreads] = acc1 * inv;
    return;
  }
  float* part = a.partial + (row * a.splits + s) * attn_partial_stride(d);
  if (tid < d) part[tid] = acc0;
  if (tid + kAttnThreads < d) part[tid + kAttnThreads] = acc1;
  if (tid == 0) part[d] = m, part[d + 1] = l;
  // The last of the (token, head)'s split blocks to finish merges them.
  if (!last_split_block(a.counters + row, a.splits)) return;
  combine_rows<1>(a, row, 1);
  if (tid == 0) a.counters[row] = 0;
}

constexpr int kTileRows = 64;      // (query, head) rows per block of the tiled kernel
constexpr int kTileKeys = 32;      // keys per shared-memory tile
constexpr int kTileThreads = 256;  // 4 threads per row
constexpr int kTileMaxDims = 128;

// Tiled attention for chunks of queries (prefill). Work mapping: one block per (kv head, tile of
// 64 / group queries), so the group's query heads share every K/V tile loaded to shared memory;
// 4 threads per (query, head) row: each scores 8 keys of a 32-key tile and owns every 4th output
// dimension. Online softmax per row; f32 throughout.
template <class KV>
__global__ void __launch_bounds__(kTileThreads) attention_tiled_kernel(AttnArgs a, int qt) {
  pdl_wait();
  pdl_trigger();
  extern __shared__ float sm[];
  const int d = a.head_dim, dp = d + 1, group = a.num_heads / a.num_kv_heads;
  const int kvh = blockIdx.x, q0 = blockIdx.y * qt;
  const int tid = threadIdx.x, r = tid / 4, sub = tid % 4;
  const int rows = min(qt, a.n - q0) * group;
  float* qs = sm;                   // [kTileRows][dp]
  float* ks = qs + kTileRows * dp;  // [kTileKeys][dp]
  float* vs = ks + kTileKeys * dp;  // [kTileKeys][dp]
  float* ps = vs + kTileKeys * dp;  // [kTileRows][kTileKeys + 1]
  const int offset = *a.offset;
  for (int i = tid; i < kTileRows * d; i += kTileThreads) {
    const int rr = i / d, e = i % d;
    float v = 0.0f;
    if (rr < rows)
      v = a.qkv[static_cast<int64_t>(q0 + rr / group) * a.ld + static_cast<int64_t>(kvh * group + rr % group) * d + e];
    qs[rr * dp + e] = v;
  }
  const bool active = r < rows;
  const int p = offset + q0 + (active ? r / group : 0);                 // this row's query position
  const int pmin = offset + q0, pmax = offset + q0 + rows / group - 1;  // the tile's query positions
  const int k_col = a.num_heads * d + kvh * d, v_col = (a.num_heads + a.num_kv_heads) * d + kvh * d;
  float m = -INFINITY, l = 0.0f, o[kTileMaxDims / 4];
#pragma unroll
  for (int c = 0; c < kTileMaxDims / 4; ++c) o[c] = 0.0f;

  for (int j0 = 0; j0 <= pmax; j0 += kTileKeys) {
    const int j1 = j0 + kTileKeys - 1;
    if (a.window > 0 && j1 <= pmin - a.window && j0 >= a.keep) continue;  // outside every row's window
    __syncthreads();                                                      // previous tile's ks/vs/ps and the q load are done
    for (int i = tid; i < kTileKeys * d; i += kTileThreads) {
      const int kk = i / d, e = i % d, j = j0 + kk;
      float kv = 0.0f, vv = 0.0f;
      if (j <= pmax) {
        if (j >= offset && !a.fixed_rows) {  // fixed rows: the chunk's keys from the cache too (appended first)
          const float* row = a.qkv + static_cast<int64_t>(j - offset) * a.ld;
          kv = row[k_col + e];
          vv = row[v_col + e];
        } else {
          const int64_t row = kv_row(a.cache, kvh, kv_slot(j, a.cache.max_size, a.cache.keep));
          kv = kv_at<KV>(a.cache, false, row, d, e);
          vv = kv_at<KV>(a.cache, true, row, d, e);
        }
      }
      ks[kk * dp + e] = kv;
      vs[kk * dp + e] = vv;
    }
    __syncthreads();
    float sc[8];
#pragma unroll
    for (int k = 0; k < 8; ++k) sc[k] = 0.0f;
    const float* qr = qs + r * dp;
    for (int e = 0; e < d; ++e) {
      const float qv = qr[e];
#pragma unroll
      for (int k = 0; k < 8; ++k) sc[k] = fmaf(qv, ks[(sub * 8 + k) * dp + e], sc[k]);
    }
    float tmax = -INFINITY;
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      const int j = j0 + sub * 8 + k;
      const bool vis = active && j <= p && (a.window == 0 || j > p - a.window || j < a.keep);
      sc[k] = vis ? sc[k] * a.scale : -INFINITY;
      tmax = fmaxf(tmax, sc[k]);
    }
    tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
    tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 2));
    const float m_new = fmaxf(m, tmax);
    const float rescale = m_new == -INFINITY ? 1.0f : expf(m - m_new);
    float psum = 0.0f;
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      const float pk = m_new == -INFINITY ? 0.0f : expf(sc[k] - m_new);
      ps[r * (kTileKeys + 1) + sub * 8 + k] = pk;
      psum += pk;
    }
    psum += __shfl_xor_sync(0xffffffffu, psum, 1);
    psum += __shfl_xor_sync(0xffffffffu, psum, 2);
    l = l * rescale + psum;
    m = m_new;
    __syncwarp();  // the row's 4 threads are in one warp: their ps writes are visible to each other
#pragma unroll
    for (int c = 0; c < kTileMaxDims / 4; ++c) o[c] *= rescale;
    for (int kk = 0; kk < kTileKeys; ++kk) {
      const float pk = ps[r * (kTileKeys + 1) + kk];
      const float* vr = vs + kk * dp + sub;
#pragma unroll
      for (int c = 0; c < kTileMaxDims / 4; ++c)
        if (c * 4 < d) o[c] = fmaf(pk, vr[c * 4], o[c]);
    }
  }
  if (!active) return;
  float* out = a.out + static_cast<int64_t>(q0 + r / group) * a.num_heads * d + static_cast<int64_t>(kvh * group + r % group) * d;
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
  for (int c = 0; c < kTileMaxDims / 4; ++c)
    if (c * 4 + sub < d) out[c * 4 + sub] = o[c] * inv;
}

bool tiled_supported(const AttnArgs& a) {
  const int group = a.num_heads / a.num_kv_heads;
  return a.splits == 1 && a.head_dim <= kTileMaxDims && a.head_dim % 4 == 0 && group <= kTileRows;
}

}  // namespace

bool attention_chunk_rows_exact(const AttnArgs& a, DType kv_type) {
  if (a.window != 0 || a.cache.max_size != 0 || a.splits != 1 || a.rope_cos != nullptr) return false;
  AttnArgs t = a;
  t.tensor_cores = true;
  return attention_tc_supported(t, kv_type) || tiled_supported(a);
}

void attention(const CudaContext& ctx, const AttnArgs& a, DType kv_type) {
  if (a.n == 0) return;
  CPPLM_CHECK(a.head_dim <= 2 * kAttnThreads, "attention: head_dim above 256");
  CPPLM_CHECK(a.splits == 1 || a.partial != nullptr, "attention: split-KV needs scratch");
  const int group = a.num_heads / a.num_kv_heads;
  const bool pdl = ctx.pdl();
  const bool chunk = a.n >= 8 || a.fixed_rows;
  if (chunk && attention_tc_supported(a, kv_type)) {
    attention_tc(ctx, a, kv_type);
    return;
  }
  if (chunk && tiled_supported(a)) {
    const int qt = kTileRows / group;
    const int dp = a.head_dim + 1;
    const size_t smem = ((kTileRows + 2 * kTileKeys) * dp + kTileRows * (kTileKeys + 1)) * sizeof(float);
    const dim3 grid(a.num_kv_heads, (a.n + qt - 1) / qt);
    auto run = [&](auto kernel) {
      CPPLM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
      launch(ctx.stream(), pdl, kernel, grid, dim3(kTileThreads), smem, a, qt);
    };
    if (kv_type == DType::BF16) run(attention_tiled_kernel<__nv_bfloat16>);
    else if (kv_type == DType::F16) run(attention_tiled_kernel<__half>);
    else if (kv_type == DType::U8) run(attention_tiled_kernel<uint8_t>);
    else run(attention_tiled_kernel<float>);
    return;
  }
  CPPLM_CHECK(a.splits == 1 || (a.counters != nullptr && a.n == 1 && a.splits <= kMaxAttnSplits),
              "attention: split-KV needs one query, counters and at most kMaxAttnSplits splits");
  CPPLM_CHECK(a.rope_cos == nullptr || a.n == 1, "attention: fused RoPE needs one query");
  const bool grouped = a.rope_cos != nullptr && attention_decode_grouped(a.head_dim, a.num_heads, a.num_kv_heads, kv_type);
  CPPLM_CHECK(!a.merge_later || (grouped && a.splits > 1),
              "attention: unmerged partials need the grouped decode kernel and splits");
  CPPLM_CHECK(a.head_groups == 1 || (grouped && a.head_groups > 0 && group % a.head_groups == 0),
              "attention: head groups need the grouped decode kernel and must divide the query heads per kv head");
  CPPLM_CHECK(!a.seqs || (grouped && !a.merge_later && a.batch > 0 && a.batch <= 65535),
              "attention: a batched decode step needs the grouped decode kernel, merged splits and 1 to 65535 sequences");
  CPPLM_CHECK(!a.mma || (grouped && !a.merge_later && attention_decode_tc(a.head_dim, kv_type)),
              "attention: the tensor-core decode loop needs the grouped kernel, merged splits and a bf16 or 8-bit cache of head "
              "size 64 or 128");
  if (grouped) {
    attention_decode(ctx, a, kv_type);
    return;
  }
  const dim3 grid(a.num_heads, a.n, a.splits);
  const size_t smem = (2 * a.head_dim + kAttnThreads) * sizeof(float);
  if (kv_type == DType::BF16) launch(ctx.stream(), pdl, attention_kernel<__nv_bfloat16>, grid, dim3(kAttnThreads), smem, a);
  else if (kv_type == DType::F16) launch(ctx.stream(), pdl, attention_kernel<__half>, grid, dim3(kAttnThreads), smem, a);
  else if (kv_type == DType::U8) launch(ctx.stream(), pdl, attention_kernel<uint8_t>, grid, dim3(kAttnThreads), smem, a);
  else launch(ctx.stream(), pdl, attention_kernel<float>, grid, dim3(kAttnThreads), smem, a);
}

}  // namespace cpplm::cuda
