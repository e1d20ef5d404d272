// The decode step's attention (one query token, RoPE and the K/V append fused), GQA-grouped and
// split-KV: one block per (kv head, key split) serves every query head of the group, so each
// cached K/V row is read once per step, with 16-byte loads that are all issued up front. At short
// contexts a kv head's query heads may spread over AttnArgs::head_groups blocks per split. A batched
// decode step (AttnArgs::seqs) runs many sequences in one launch, one grid layer (blockIdx.z) each.
#include <algorithm>
#include <type_traits>

#include "backends/cuda/attention.cuh"
#include "backends/cuda/attention_decode_tc.cuh"

namespace cpplm::cuda {
namespace {

constexpr int kDecRounds = 4;    // key rows per lane group and pass (K and V each: one 16-byte load)
constexpr int kDecMaxGroup = 8;  // query heads per kv head
constexpr int kDecMaxDims = 256;
constexpr size_t kMaxMergeBytes = 80 * 1024;  // split partials that every SM of the o_proj GEMV may read
// Least keys per split of the tensor-core loop in a single sequence's step (4 warps × 16 keys a pass).
constexpr int kDecTcSplitKeys = 256;
constexpr int kDecTcWarps = 4;  // the tensor-core loop's warps per block

// Lanes that share one key row: each loads 16 bytes of it (8 codes of an 8-bit row).
int kv_vec(DType kv) { return kv == DType::U8 ? 8 : 16 / static_cast<int>(dtype_size(kv)); }
int lanes_per_key(int head_dim, DType kv) { return head_dim / kv_vec(kv); }

// Work mapping: block (kv head × head group, split) takes the split's visible keys for its query
// heads (group / head_groups of the kv head's) in passes of kDecRounds × kW × (32 / L) keys (kW
// warps, 8 or 4: attention_decode_plan chooses); in a warp, L lanes share a key row (lane % L:
// which 16 bytes), 32 / L rows side by side. Each lane keeps its slice of q for the block's (up to
// G) query heads in registers, scores its rows (dot products reduced over the L lanes by
// shuffles), runs an online softmax per head that is uniform across the warp, and accumulates
// p · V on its slice. The next pass's rows are requested before the current one is multiplied;
// the first pass's before waiting on the qkv projection (cached rows are final: earlier steps wrote them). The step's own key and
// value come unrounded from shared memory (as the CPU attends before it appends). At the end the
// 32 / L row groups and the warps are merged, then the splits: the last block of a kv head (and
// head group) to finish merges them (combine_rows), unless AttnArgs::merge_later leaves that to
// the o_proj GEMV (merged_x4).
// kL: lanes per key row when fixed at compile time (the common head sizes: the shuffle reductions
// unroll and interleave across rows and heads), 0 for head_dim / kVec at run time.
// Blocks per SM the register allocation must allow: 3 of 4 warps for 16-bit and f32 rows in groups of
// up to 4 query heads (ptxas: bf16 G = 4 from 213 registers to 168, no spills), so 12 warps' loads are
// in flight per SM instead of 8; larger groups and 8-bit rows would spill, and keep the default.
// The tensor-core loop (kTcD: its head size, attention_decode_tc.cuh) keeps two blocks' stages per SM.
template <class KV, int G, int kW, int kTcD>
constexpr int decode_min_blocks() {
  return kTcD ? 2 : kW == 4 && G <= 4 && !std::is_same_v<KV, uint8_t> ? 3 : 1;
}

// kTcD: 0 for the f32 loop below, else the head size of the tensor-core loop (bf16 and 8-bit caches, 4 warps),
// whose results take one more entry of `red`: the step's own key, attended unrounded.
template <class KV, int G, int kL, int kW, int kTcD = 0>
__global__ void __launch_bounds__(kW * 32, (decode_min_blocks<KV, G, kW, kTcD>())) attention_decode_kernel(AttnArgs a) {
  CPPLM_TRACE(3);
  using Chunk = typename KvChunk<KV>::T;
  constexpr int kVec = KvChunk<KV>::kVec;
  constexpr bool kQ8 = std::is_same_v<KV, uint8_t>;
  extern __shared__ __align__(16) float sm[];
  const int kvh = blockIdx.x / a.head_groups, split = blockIdx.y, tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  // A batched step's sequence (AttnArgs::seqs) and its row of qkv, the RoPE tables and the output.
  const DecodeSeq* me = a.seqs ? a.seqs + blockIdx.z : nullptr;
  const int z = me ? me->row : 0;
  const KvLayer cache = me ? me->cache : a.cache;
  const float* qkv = a.qkv + static_cast<int64_t>(z) * a.ld;
  const int splits = me ? me->splits : a.splits;  // a batch's most set gridDim.y
  if (split >= splits) return;
  // The block's query heads: `group` of its kv head's, from h0.
  const int group = a.num_heads / a.num_kv_heads / a.head_groups, h0 = blockIdx.x * group;
  const int d = a.head_dim, L = kL ? kL : d / kVec, kpw = 32 / L;
  const int sub = lane / L, slice = lane % L;
  // Written by a copy before the launch, not by a kernel.
  const int offset = me ? me->offset : *a.offset, window = me ? me->window : a.window, keep = me ? me->keep : a.keep;
  const int start = kv_window_start(offset, window), sinks = kv_sinks_end(start, keep), cnt = sinks + offset - start + 1;
  const int chunk = (cnt + splits - 1) / splits;
  const int lo = min(cnt, split * chunk), hi = min(cnt, lo + chunk);
  constexpr int kR = kDecRounds;  // (8 for an 8-bit cache measured no faster: 102.3 against 103.4 tok/s, 8B at 64k)
  const int per_pass = kR * kW * kpw;
  const KV* kc = static_cast<const KV*>(cache.k);
  const KV* vc = static_cast<const KV*>(cache.v);
  auto key_of = [&](int idx) { return idx < sinks ? idx : start + idx - sinks; };
  auto key_index = [&](int base, int r) { return base + (r * kW + warp) * kpw + sub; };
  const int ng = kQ8 ? d / cache.group : 0, sg = kQ8 ? slice * kVec / cache.group : 0;  // 8-bit: the lane's group
  auto fetch = [&](int base, Chunk* kr, Chunk* vr, float2* ks, float2* vs) {
#pragma unroll
    for (int r = 0; r < kR; ++r) {
      const int idx = key_index(base, r), j = idx < hi ? key_of(idx) : offset;
      kr[r] = vr[r] = Chunk{};
      ks[r] = vs[r] = make_float2(0.0f, 0.0f);
      if (j < offset) {
        const int64_t row = kv_row(cache, kvh, kv_slot(j, cache.max_size, cache.keep));
        kr[r] = __ldg(reinterpret_cast<const Chunk*>(kc + row * d) + slice);
        vr[r] = __ldg(reinterpret_cast<const Chunk*>(vc + row * d) + slice);
        if constexpr (kQ8) ks[r] = __ldg(cache.ksb + row * ng + sg), vs[r] = __ldg(cache.vsb + row * ng + sg);
      }
    }
  };
  float* qs = sm;          // [G][d]
  float* kn = qs + G * d;  // [d]
  float* vn = kn + d;      // [d]
  float* red = vn + d;     // [entries][G][d + 2]: each warp's acc, then its m and l (the tensor-core loop: over its stages)
  constexpr int kEntries = kTcD ? kW + 1 : kW;
  // The tensor-core loop's keys: the split's cached ones (the step's own key, index cnt - 1, is not cached yet).
  DecodeTcWarp<KV, G, kTcD ? kTcD : 64, kW> tcw(cache, kvh, lo, min(hi, cnt - 1), start, sinks, red);
  Chunk nk[kR], nv[kR];
  float2 nks[kR], nvs[kR];
  if constexpr (kTcD) tcw.prologue();
  else fetch(lo, nk, nv, nks, nvs);
  if (tid == 0 && cache.max_size == 0 && !cache.blocks && start == 0 && min(hi, offset) > lo + per_pass) {
    // The later passes' rows are contiguous: start moving them to L2 as well.
    const size_t at = (static_cast<size_t>(kvh) * cache.capacity + lo + per_pass) * d * sizeof(KV);
    const uint32_t bytes = static_cast<uint32_t>((min(hi, offset) - lo - per_pass) * d * sizeof(KV));
    prefetch_l2(static_cast<const char*>(cache.k) + at, bytes);
    prefetch_l2(static_cast<const char*>(cache.v) + at, bytes);
  }
  CPPLM_PDL_WAIT();
  pdl_trigger();

  // Rotate the group's queries and the new key (HF rotate_half or mlx traditional pairs).
  const int half = d / 2, k_col = a.num_heads * d + kvh * d, v_col = (a.num_heads + a.num_kv_heads) * d + kvh * d;
  for (int t = tid; t < (group + 1) * half; t += blockDim.x) {
    const int g = t / half, jj = t % half;
    const int ia = a.rope_traditional ? 2 * jj : jj, ib = a.rope_traditional ? 2 * jj + 1 : jj + half;
    const float* src = qkv + (g < group ? (h0 + g) * d : k_col);
    float* dst = g < group ? qs + g * d : kn;
    const float cs = a.rope_cos[z * half + jj], sn = a.rope_sin[z * half + jj], x0 = src[ia], x1 = src[ib];
    dst[ia] = x0 * cs - x1 * sn;
    dst[ib] = x1 * cs + x0 * sn;
  }
  for (int e = tid; e < d; e += blockDim.x) vn[e] = qkv[v_col + e];
  __syncthreads();
  if (split == 0 && blockIdx.x % a.head_groups == 0) {  // one block per kv head appends the new key and value
    kv_store_row<KV>(cache, kv_row(cache, kvh, kv_slot(offset, cache.max_size, cache.keep)), d, kn, vn);
  }
  CPPLM_TRACE_MARK(0);
  if constexpr (kTcD) {
    tcw.run(qs, group, a.scale, red + warp * G * (d + 2));
    // Entry kW: the step's own key, if the split holds it (index cnt - 1), with its f32 score.
    const bool fresh = lo <= cnt - 1 && cnt - 1 < hi;
    for (int g = warp; g < group; g += kW) {
      float s = 0.0f;
      for (int e = lane; e < d; e += 32) s = fmaf(qs[g * d + e], kn[e], s);
      s = warp_sum(s) * a.scale;
      float* w = red + (kW * G + g) * (d + 2);
      for (int e = lane; e < d; e += 32) w[e] = fresh ? vn[e] : 0.0f;
      if (lane == 0) w[d] = fresh ? s : -INFINITY, w[d + 1] = fresh ? 1.0f : 0.0f;
    }
  } else {
    float q[G][kVec], acc[G][kVec], m[G], l[G];
#pragma unroll
    for (int g = 0; g < G; ++g) {
      m[g] = -INFINITY, l[g] = 0.0f;
#pragma unroll
      for (int e = 0; e < kVec; ++e) q[g][e] = g < group ? qs[g * d + slice * kVec + e] : 0.0f, acc[g][e] = 0.0f;
    }

    for (int base = lo; base < hi; base += per_pass) {
      Chunk ck[kR], cv[kR];
      float2 cks[kR], cvs[kR];
#pragma unroll
      for (int r = 0; r < kR; ++r) ck[r] = nk[r], cv[r] = nv[r], cks[r] = nks[r], cvs[r] = nvs[r];
      if (base + per_pass < hi) fetch(base + per_pass, nk, nv, nks, nvs);  // in flight while this pass is multiplied
      float sc[kR][G], vf[kR][kVec];
#pragma unroll
      for (int r = 0; r < kR; ++r) {
        const int idx = key_index(base, r);
        const bool valid = idx < hi, fresh = valid && key_of(idx) == offset;
        float kf[kVec];
        unpack_chunk<KV>(ck[r], cks[r], kf);
        unpack_chunk<KV>(cv[r], cvs[r], vf[r]);
        if (fresh)
#pragma unroll
          for (int e = 0; e < kVec; ++e) kf[e] = kn[slice * kVec + e], vf[r][e] = vn[slice * kVec + e];
#pragma unroll
        for (int g = 0; g < G; ++g) {
          float s = 0.0f;
#pragma unroll
          for (int e = 0; e < kVec; ++e) s = fmaf(kf[e], q[g][e], s);
#pragma unroll
          for (int o = 1; o < L; o <<= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
          sc[r][g] = valid ? s * a.scale : -INFINITY;
        }
      }
#pragma unroll
      for (int g = 0; g < G; ++g) {
        float mx = sc[0][g];
#pragma unroll
        for (int r = 1; r < kR; ++r) mx = fmaxf(mx, sc[r][g]);
#pragma unroll
        for (int o = L; o < 32; o <<= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
        const float m_new = fmaxf(m[g], mx);
        if (m_new == -INFINITY) continue;  // nothing visible yet (warp-uniform)
        const float corr = expf(m[g] - m_new);
        l[g] *= corr;
#pragma unroll
        for (int e = 0; e < kVec; ++e) acc[g][e] *= corr;
#pragma unroll
        for (int r = 0; r < kR; ++r) {
          const float p = expf(sc[r][g] - m_new);  // 0 for invalid rows
          l[g] += p;
#pragma unroll
          for (int e = 0; e < kVec; ++e) acc[g][e] = fmaf(p, vf[r][e], acc[g][e]);
        }
        m[g] = m_new;
      }
    }

    CPPLM_TRACE_MARK(1);
    // Merge the warp's row groups (m is warp-uniform), then the warps through shared memory.
#pragma unroll
    for (int g = 0; g < G; ++g) {
#pragma unroll
      for (int o = L; o < 32; o <<= 1) {
        l[g] += __shfl_xor_sync(0xffffffffu, l[g], o);
#pragma unroll
        for (int e = 0; e < kVec; ++e) acc[g][e] += __shfl_xor_sync(0xffffffffu, acc[g][e], o);
      }
      if (g < group && sub == 0) {
        float* w = red + (warp * G + g) * (d + 2);
#pragma unroll
        for (int e = 0; e < kVec; ++e) w[slice * kVec + e] = acc[g][e];
        if (slice == 0) w[d] = m[g], w[d + 1] = l[g];
      }
    }
  }  // the f32 loop
  __syncthreads();
  const bool split_kv = splits > 1;
  // The sequence's output rows, and its partials: [num_heads, splits, stride] from row z's region of
  // num_heads * kMaxAttnSplits partials in a batch.
  float* out = a.out + static_cast<int64_t>(z) * a.num_heads * d;
  float* partial = a.partial + static_cast<int64_t>(z) * a.num_heads * kMaxAttnSplits * attn_partial_stride(d);
  for (int t = tid; t < group * d; t += blockDim.x) {
    const int g = t / d, e = t % d;
    float mx = -INFINITY;
#pragma unroll
    for (int w = 0; w < kEntries; ++w) mx = fmaxf(mx, red[(w * G + g) * (d + 2) + d]);
    float o = 0.0f, ls = 0.0f;
    if (mx != -INFINITY)
#pragma unroll
      for (int w = 0; w < kEntries; ++w) {
        const float* r = red + (w * G + g) * (d + 2);
        const float wt = expf(r[d] - mx);  // 0 for a warp without keys
        o = fmaf(wt, r[e], o);
        ls = fmaf(wt, r[d + 1], ls);
      }
    const int h = h0 + g;
    if (!split_kv) {
      out[static_cast<int64_t>(h) * d + e] = ls > 0.0f ? o / ls : 0.0f;
    } else {
      float* part = partial + (static_cast<int64_t>(h) * splits + split) * attn_partial_stride(d);
      part[e] = o;
      if (e == 0) part[d] = mx, part[d + 1] = ls;
    }
  }
  if (!split_kv || a.merge_later) return;
  // The last of the (kv head, head group)'s split blocks to finish merges the block's heads.
  int* counter = a.counters + z * gridDim.x + blockIdx.x;
  if (!last_split_block(counter, splits)) return;
  AttnArgs c = a;
  c.splits = splits, c.partial = partial, c.out = out;
  combine_rows<G>(c, h0, group);
  if (tid == 0) *counter = 0;
}

// The kernel instance for (KV, G, kW) and the head size's lane count: compile-time for 16-bit head
// sizes 64 and 128 (kL = 8 / 16).
template <class KV, int G, int kW>
auto decode_kernel(int head_dim) {
  if constexpr (!std::is_same_v<KV, float>) {
    const int L = lanes_per_key(head_dim, DType::BF16);
    if (L == 8) return attention_decode_kernel<KV, G, 8, kW>;
    if (L == 16) return attention_decode_kernel<KV, G, 16, kW>;
  }
  return attention_decode_kernel<KV, G, 0, kW>;
}

// The kernel instance's G (query heads per block) for a group of query heads per kv head.
constexpr int group_instance(int group) { return group <= 2 ? group : group <= 4 ? 4 : 8; }

// The kernel's shared memory: the group's rotated queries, the new key and value, and each warp's
// partial result (see attention_decode_kernel).
size_t decode_smem(int group, int head_dim, int warps) {
  const size_t G = group_instance(group);
  return ((G + 2) * head_dim + static_cast<size_t>(warps) * G * (head_dim + 2)) * sizeof(float);
}

// The tensor-core loop's shared memory: the queries and new row as above, then the warps' stages,
// which the partial results (one more entry: the step's own key) overlay after the loop.
template <class KV, int D>
size_t decode_tc_smem(int group) {
  const size_t G = group_instance(group);
  return (G + 2) * D * sizeof(float) +
         std::max(kDecTcWarps * tc_dec_warp_bytes<KV, D>(), (kDecTcWarps + 1) * G * (D + 2) * sizeof(float));
}

template <class KV, int G, int D>
void launch_tc(const CudaContext& ctx, const AttnArgs& a) {
  constexpr auto kernel = attention_decode_kernel<KV, G, D / 8, kDecTcWarps, D>;
  const size_t smem = decode_tc_smem<KV, D>(G);  // allowed by attention_decode_reserve_smem
  const dim3 grid(a.num_kv_heads * a.head_groups, a.splits, a.seqs ? a.batch : 1);
  launch(ctx.stream(), ctx.pdl(), kernel, grid, dim3(kDecTcWarps * 32), smem, a);
}

template <class KV, int G>
void launch_group(const CudaContext& ctx, const AttnArgs& a) {
  if constexpr (std::is_same_v<KV, __nv_bfloat16> || std::is_same_v<KV, uint8_t>) {
    if (a.mma) {
      if (a.head_dim == 64) return launch_tc<KV, G, 64>(ctx, a);
      return launch_tc<KV, G, 128>(ctx, a);
    }
  }
  const int warps = a.warps == 8 ? 8 : 4;
  const dim3 grid(a.num_kv_heads * a.head_groups, a.splits, a.seqs ? a.batch : 1), block(warps * 32);
  const size_t smem = decode_smem(G, a.head_dim, warps);
  if (warps == 8) launch(ctx.stream(), ctx.pdl(), decode_kernel<KV, G, 8>(a.head_dim), grid, block, smem, a);
  else launch(ctx.stream(), ctx.pdl(), decode_kernel<KV, G, 4>(a.head_dim), grid, block, smem, a);
}

template <class KV>
void launch_decode(const CudaContext& ctx, const AttnArgs& a, int group) {
  switch (group_instance(group)) {
    case 1: return launch_group<KV, 1>(ctx, a);
    case 2: return launch_group<KV, 2>(ctx, a);
    case 4: return launch_group<KV, 4>(ctx, a);
    default: return launch_group<KV, 8>(ctx, a);
  }
}

}  // namespace

CPPLM_TRACE_ATTACH(trace_attach_attention_decode)

bool attention_decode_grouped(int head_dim, int num_heads, int num_kv_heads, DType kv_type) {
  if (kv_type != DType::BF16 && kv_type != DType::F16 && kv_type != DType::F32 && kv_type != DType::U8) return false;
  const int L = lanes_per_key(head_dim, kv_type);
  // 8-bit rows: CudaSequence takes groups of 64, 32 or head_dim (head_dim % 8 == 0), whole lanes' slices.
  return head_dim <= kDecMaxDims && head_dim % 2 == 0 && L >= 1 && L <= 32 && (L & (L - 1)) == 0 &&
         L * kv_vec(kv_type) == head_dim && num_heads % num_kv_heads == 0 && num_heads / num_kv_heads <= kDecMaxGroup;
}

bool attention_decode_reserve_smem(int device) {
  int optin = 0;
  CPPLM_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  if (decode_tc_smem<__nv_bfloat16, 128>(8) > static_cast<size_t>(optin)) return false;  // the largest instance
  auto allow = [](auto kernel, size_t smem) {
    CPPLM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  };
  auto per_cache = [&](auto kv) {
    using KV = decltype(kv);
    auto per_group = [&](auto g) {
      constexpr int G = decltype(g)::value;
      allow(attention_decode_kernel<KV, G, 8, kDecTcWarps, 64>, decode_tc_smem<KV, 64>(G));
      allow(attention_decode_kernel<KV, G, 16, kDecTcWarps, 128>, decode_tc_smem<KV, 128>(G));
    };
    per_group(std::integral_constant<int, 1>{}), per_group(std::integral_constant<int, 2>{});
    per_group(std::integral_constant<int, 4>{}), per_group(std::integral_constant<int, 8>{});
  };
  per_cache(__nv_bfloat16{}), per_cache(uint8_t{});
  return true;
}

bool attention_decode_tc(int head_dim, DType kv_type) {
  return (kv_type == DType::BF16 || kv_type == DType::U8) && (head_dim == 64 || head_dim == 128);
}

DecodePlan attention_decode_plan(int capacity, int head_dim, int num_heads, int num_kv_heads, DType kv_type, int num_sms,
                                 bool o_proj_merges, int tc_min_capacity) {
  if (!attention_decode_grouped(head_dim, num_heads, num_kv_heads, kv_type))
    return {std::clamp((capacity + 127) / 128, 1, kMaxAttnSplits), 4};
  if (tc_min_capacity >= 0 && capacity >= tc_min_capacity && attention_decode_tc(head_dim, kv_type)) {
    DecodePlan p{std::clamp((capacity + kDecTcSplitKeys - 1) / kDecTcSplitKeys, 1, kMaxAttnSplits), kDecTcWarps};
    p.mma = true;
    return p;
  }
  // One pass per split up to 32 splits. 8 warps per block (fewer splits to merge) while the
  // blocks fit one per SM (their registers allow no more), one pass per split still holds, and
  // the shared memory stays within the default 48 KB; else 4 warps (two blocks per SM).
  auto per_pass = [&](int warps) { return kDecRounds * warps * (32 / lanes_per_key(head_dim, kv_type)); };
  auto splits = [&](int warps) { return std::clamp((capacity + per_pass(warps) - 1) / per_pass(warps), 1, kMaxAttnSplits); };
  const int group = num_heads / num_kv_heads;
  DecodePlan p{splits(4), 4};
  if (num_kv_heads * splits(8) <= num_sms && capacity <= kMaxAttnSplits * per_pass(8) &&
      decode_smem(group, head_dim, 8) <= 48 * 1024)
    p = {splits(8), 8};
  // Short contexts: splits of up to two passes, merged by the o_proj GEMV as it stages them (which
  // every SM does, so the partials must stay few: the 1B's 35 KB at 1,024 positions), and a kv
  // head's query heads spread over several blocks (less work per block) while they fit one wave;
  // the cached rows are then read once per block, from L2 at these lengths. (The 1B: 4 splits × 4
  // head groups beat 8 × 2 by 0.7 %, 8 × 1 merged in the attention kernel by 2.5 %.)
  const int short_splits = std::max(2, (capacity + 2 * per_pass(p.warps) - 1) / (2 * per_pass(p.warps)));
  const size_t partial_bytes = static_cast<size_t>(num_heads) * short_splits * attn_partial_stride(head_dim) * sizeof(float);
  if (o_proj_merges && short_splits <= kMaxGemvMergeSplits && head_dim % 4 == 0 && partial_bytes <= kMaxMergeBytes) {
    p.splits = short_splits;
    p.merge_later = true;
    for (int hg = group; hg > 1; --hg)
      if (group % hg == 0 && num_kv_heads * hg * p.splits <= num_sms) {
        p.head_groups = hg;
        break;
      }
  }
  return p;
}

int attention_decode_batch_splits(int keys, int split_keys) {
  return std::clamp((keys + split_keys - 1) / split_keys, 1, kMaxAttnSplits);
}

void attention_decode(const CudaContext& ctx, const AttnArgs& a, DType kv_type) {
  const int group = a.num_heads / a.num_kv_heads / a.head_groups;
  if (kv_type == DType::BF16) launch_decode<__nv_bfloat16>(ctx, a, group);
  else if (kv_type == DType::F16) launch_decode<__half>(ctx, a, group);
  else if (kv_type == DType::U8) launch_decode<uint8_t>(ctx, a, group);
  else launch_decode<float>(ctx, a, group);
}

}  // namespace cpplm::cuda
