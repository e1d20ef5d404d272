// The decode step's key loop on tensor cores (attention_decode.cu's kernel for bf16 and 8-bit caches
// with head_dim 64 or 128): scores and p · V by m16n8k16 MMAs instead of f32 FMAs and shuffles per
// key row, so the step reads K/V at the memory's rate rather than the ALUs'.
//
// Numerics, bf16 caches: the f32 queries and softmax weights enter the MMA as bf16 pairs (hi =
// bf16(x), lo = bf16(x - hi)), bf16 keys and values exactly, with f32 accumulation: each product
// carries about 2^-17 of relative error instead of f32's 2^-24. The MMA's 16 rows hold the group's
// query heads (rows g < 8: hi, rows g + 8: lo), so one MMA gives both halves.
// 8-bit caches: the codes enter the MMA exactly, as f16 integers 0..255 (two prmt-built halves 1024 +
// code less 1024: no float arithmetic per code), and the scales and biases stay f32 outside it. A
// score is Σ_g scale_g · (q · codes)_g + bias_g · Σ_g q over the row's quantization groups g, so the
// queries enter as f16 pairs scaled by a power of two (max |q| in [2^13, 2^14): no f16 overflow, and
// what underflows is below 2^-37 of the largest); for p · V each group's A fragment is p · scale of
// its keys (f16 pairs, times a power of two fv from the running max |scale|, so |p · scale · fv| <
// 2^14 with p < 2^12: tc_softmax_step), and p · bias is summed in f32 beside it. Each product carries
// about 2^-22 of relative error; the codes are not rounded at all (the CPU dequantizes them to f32).
//
// Work mapping: each warp of the block takes tiles of 16 keys of the block's split in turn (warp w:
// tiles w, w + kW, ...), brought to its own shared stages by cp.async (rows by kv_row: paged, ring
// and sink layouts alike; keys past the split zero-filled and masked) tc_dec_stages ahead. Per
// tile (an 8-bit cache's: its codes and pairs, the codes read into MMA operands by the lanes, run_q8):
// S = Q·Kᵀ (2 n-tiles of 8 keys, D / 16 k-steps), an online softmax per head in f32 on the
// accumulators (lane: head g8 = lane / 4, keys 2·(lane % 4) + {0, 1} of each n-tile), P reused as
// the A operand of P·V (D / 8 n-tiles of head dims). The step's own key (not in the cache yet) is
// the caller's: it attends it unrounded, as the f32 kernel does.
#pragma once
#include "backends/cuda/attention.cuh"
#include "backends/cuda/mma.cuh"

namespace cpplm::cuda {
namespace {

constexpr int kTcDecKeys = 16;  // keys per warp tile
constexpr int kTcDecPad = 8;    // bf16 elements of padding per shared row (ldmatrix rows on distinct banks)
constexpr int kTcQ8Group = 64;  // an 8-bit cache's quantization group (kv_q8_group of head size 64 and 128)
template <class KV, int D>
constexpr int tc_dec_stages() {
  if constexpr (std::is_same_v<KV, uint8_t>) return D <= 64 ? 6 : 4;
  return D <= 64 ? 4 : 3;
}
constexpr size_t tc_dec_tile_bytes(int D) { return 2 * kTcDecKeys * (D + kTcDecPad) * sizeof(__nv_bfloat16); }
// An 8-bit stage: K codes [16][D + 32] and V codes [16][D + 16] (rows padded so that the lanes' loads
// fall on distinct banks), then K and V (scale, bias) pairs [16][D / 32] (groups >= 32).
constexpr int tc_q8_kstride(int D) { return D + 32; }
constexpr int tc_q8_vstride(int D) { return D + 16; }
constexpr size_t tc_dec_q8_stage_bytes(int D) {
  return kTcDecKeys * (tc_q8_kstride(D) + tc_q8_vstride(D)) + 2 * kTcDecKeys * (D / 32) * sizeof(float2);
}
// Shared bytes of a warp's stages: bf16 [stages][K, V][16 keys][D + pad], or 8-bit ones.
template <class KV, int D>
constexpr size_t tc_dec_warp_bytes() {
  if constexpr (std::is_same_v<KV, uint8_t>) return tc_dec_stages<KV, D>() * tc_dec_q8_stage_bytes(D);
  return tc_dec_stages<KV, D>() * tc_dec_tile_bytes(D);
}

// 8 bytes global -> shared, zero-filled when !valid (cp.async.ca: the 16-byte form's cg takes no 8).
__device__ __forceinline__ void cp_async8(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;" ::"r"(smem_addr(dst)), "l"(src), "r"(valid ? 8 : 0) : "memory");
}

// A bf16 pair (hi, lo) of x: hi + lo equals x to about 2^-17 of |x|; an f16 pair: 2^-22.
__device__ __forceinline__ float bf16_hi(float x) { return __bfloat162float(__float2bfloat16_rn(x)); }
__device__ __forceinline__ float f16_hi(float x) { return __half2float(__float2half_rn(x)); }

// Bytes 0, 1 (lo) and 2, 3 (hi) of w as f16 pairs of exact integers: 1024 + byte built by prmt, less 1024.
__device__ __forceinline__ void f16_codes(uint32_t w, uint32_t& lo, uint32_t& hi) {
  const __half2 k1024 = __floats2half2_rn(1024.0f, 1024.0f);
  const uint32_t a = __byte_perm(w, 0x64646464u, 0x4140u), b = __byte_perm(w, 0x64646464u, 0x4342u);
  const __half2 x = __hsub2(*reinterpret_cast<const __half2*>(&a), k1024),
                y = __hsub2(*reinterpret_cast<const __half2*>(&b), k1024);
  lo = *reinterpret_cast<const uint32_t*>(&x);
  hi = *reinterpret_cast<const uint32_t*>(&y);
}

// A fragment (rows g8: hi, g8 + 8: lo) of four values x: columns 2·t4 + {0, 1}, then 2·t4 + 8 + {0, 1}.
template <bool kF16>
__device__ __forceinline__ void split_fragment(const float (&x)[4], uint32_t (&a)[4]) {
  float h[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) h[i] = kF16 ? f16_hi(x[i]) : bf16_hi(x[i]);
  const auto pack = [](float u, float v) { return kF16 ? pack_f16(u, v) : pack_bf16(u, v); };
  a[0] = pack(h[0], h[1]);
  a[1] = pack(x[0] - h[0], x[1] - h[1]);
  a[2] = pack(h[2], h[3]);
  a[3] = pack(x[2] - h[2], x[3] - h[3]);
}

// Online softmax with lazy rescaling: a head's reference maximum m moves only when a tile's scores
// exceed it by more than kTcLazyMax (natural log), so the weights p stay below e^8 (< 2^11.6) and
// most tiles leave the sums alone (m, l and the accumulators agree in either case).
constexpr float kTcLazyMax = 8.0f;

// One tile's step for head g8 (its four lanes hold the tile's 16 scores sc): updates m and l, sets p;
// returns whether the warp's sums need the factor corr (warp-uniform).
__device__ __forceinline__ bool tc_softmax_step(const float (&sc)[4], float& m, float& l, float (&p)[4], float& corr) {
  float mx = fmaxf(fmaxf(sc[0], sc[1]), fmaxf(sc[2], sc[3]));
  mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
  mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
  corr = 1.0f;
  const bool moved = __any_sync(0xffffffffu, mx > m + kTcLazyMax);
  if (moved) {
    mx = fmaxf(mx, m);
    corr = m == mx ? 1.0f : expf(m - mx);  // m = -inf: nothing summed yet, corr 0
    m = mx;
    l *= corr;
  }
  const float base = m == -INFINITY ? 0.0f : m;  // no visible key yet: every p is 0
#pragma unroll
  for (int i = 0; i < 4; ++i) p[i] = expf(sc[i] - base), l += p[i];
  return moved;
}

// 2^(top - e) for x = f · 2^e (f in [0.5, 1)): x times it lies in [2^(top - 1), 2^top); 1 for x = 0.
__device__ __forceinline__ float f16_range_scale(float x, int top) {
  int e = 0;
  frexpf(x, &e);
  return x > 0.0f ? ldexpf(1.0f, min(top - e, 126)) : 1.0f;  // (x below 2^-112: not quite to 2^(top - 1))
}

// One warp's share of a block's keys [lo, hi) (indices of the visible keys, see attention_decode.cu;
// hi excludes the step's own key).
template <class KV, int G, int D, int kW>
struct DecodeTcWarp {
  static constexpr int S = D + kTcDecPad, kStages = tc_dec_stages<KV, D>();
  static constexpr bool kQ8 = std::is_same_v<KV, uint8_t>;
  const KvLayer& cache;
  int kvh, lo, hi, start, sinks;
  char* buf;  // this warp's stages
  int warp, lane, tiles;

  __device__ DecodeTcWarp(const KvLayer& c, int kv_head, int first, int end, int win_start, int sinks_end, void* stages)
      : cache(c), kvh(kv_head), lo(first), hi(end), start(win_start), sinks(sinks_end) {
    warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    buf = static_cast<char*>(stages) + warp * tc_dec_warp_bytes<KV, D>();
    tiles = hi > lo ? (hi - lo + kTcDecKeys - 1) / kTcDecKeys : 0;
  }
  // Stage st's bf16 tile.
  __device__ __nv_bfloat16* tile(int st) const { return reinterpret_cast<__nv_bfloat16*>(buf + st * tc_dec_tile_bytes(D)); }

  // Tile t of the block (keys lo + 16t ..) into stage `st`: lane k < 16 finds key k's cache row, the
  // warp copies the rows in 16-byte pieces (D / 8 lanes a row).
  __device__ void load(int t, int st) {
    constexpr int kPieces = D / 8, kRowsPerPass = 32 / kPieces;
    const int kb = lo + t * kTcDecKeys;
    long long my = -1;
    if (lane < kTcDecKeys && kb + lane < hi) {
      const int idx = kb + lane, j = idx < sinks ? idx : start + idx - sinks;
      my = kv_row(cache, kvh, kv_slot(j, cache.max_size, cache.keep));
    }
    if constexpr (kQ8) {
      load_q8(my, st);
      return;
    }
    __nv_bfloat16* ks = tile(st);
    __nv_bfloat16* vs = ks + kTcDecKeys * S;
    const auto* kc = static_cast<const __nv_bfloat16*>(cache.k);
    const auto* vc = static_cast<const __nv_bfloat16*>(cache.v);
#pragma unroll
    for (int i = 0; i < kTcDecKeys / kRowsPerPass; ++i) {
      const int kk = i * kRowsPerPass + lane / kPieces, part = lane % kPieces;
      const long long row = __shfl_sync(0xffffffffu, my, kk);
      const bool valid = row >= 0;
      const int64_t at = (valid ? row : 0) * D + part * 8;
      cp_async16(ks + kk * S + part * 8, kc + at, valid);
      cp_async16(vs + kk * S + part * 8, vc + at, valid);
    }
  }

  // An 8-bit tile's codes (D / 16 pieces a row) and pairs (ng a row: one piece of 16 bytes per two).
  __device__ void load_q8(long long my, int st) {
    constexpr int kPieces = D / 16, kRowsPerPass = 32 / kPieces, KS = tc_q8_kstride(D), VS = tc_q8_vstride(D);
    char* codes = buf + st * tc_dec_q8_stage_bytes(D);
    float2* pairs = reinterpret_cast<float2*>(codes + kTcDecKeys * (KS + VS));
#pragma unroll
    for (int i = 0; i < kTcDecKeys / kRowsPerPass; ++i) {
      const int kk = i * kRowsPerPass + lane / kPieces, part = lane % kPieces;
      const long long row = __shfl_sync(0xffffffffu, my, kk);
      const int64_t at = (row >= 0 ? row : 0) * D + part * 16;
      cp_async16(codes + kk * KS + part * 16, static_cast<const uint8_t*>(cache.k) + at, row >= 0);
      cp_async16(codes + kTcDecKeys * KS + kk * VS + part * 16, static_cast<const uint8_t*>(cache.v) + at, row >= 0);
    }
    const int ng = D / cache.group;  // 1, 2 or 4 pairs a row
    const int kk = lane % kTcDecKeys;
    const long long row = __shfl_sync(0xffffffffu, my, kk);
    const int64_t at = (row >= 0 ? row : 0) * ng;
    const float2* src = lane < kTcDecKeys ? cache.ksb : cache.vsb;
    float2* dst = pairs + (lane / kTcDecKeys) * kTcDecKeys * (D / 32) + kk * ng;
    if (ng == 1) {
      cp_async8(dst, src + at, row >= 0);
    } else {
      for (int p = 0; p < ng; p += 2) cp_async16(dst + p, src + at + p, row >= 0);
    }
  }

  // Stages ahead of the first tile (before the caller's PDL wait: cached rows are final).
  __device__ void prologue() {
#pragma unroll
    for (int i = 0; i < kStages - 1; ++i) {
      const int t = warp + i * kW;
      if (t < tiles) load(t, i);
      cp_async_commit();
    }
  }

  // Head g8's queries as this lane holds them in A fragments: x[kk] = dims 16·kk + 2·t4 + {0, 1, 8, 9}.
  __device__ void queries(const float* qs, int group, float (*x)[4]) const {
    const int g8 = lane / 4, t4 = lane % 4;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      const float* q = qs + g8 * D + kk * 16 + 2 * t4;
      const bool mine = g8 < group;
      x[kk][0] = mine ? q[0] : 0.0f, x[kk][1] = mine ? q[1] : 0.0f, x[kk][2] = mine ? q[8] : 0.0f, x[kk][3] = mine ? q[9] : 0.0f;
    }
  }

  // Iteration `it` of the loop (the warp's tile t): requests the tile kStages - 1 on, waits for t's.
  __device__ void next_tile(int it, int t) {
    const int tn = t + (kStages - 1) * kW;
    if (tn < tiles) load(tn, (it + kStages - 1) % kStages);
    cp_async_commit();
    cp_async_wait<kStages - 1>();
    __syncwarp();
  }

  // The warp's result to red [G][D + 2] (acc over head dims, then m and l), as the f32 loop writes it:
  // head dim dim(n, e) is o[n][e] + o[n][e + 2] (rows hi and lo) times oscale, plus add(n).
  template <class Dim, class Add>
  __device__ void finish(const float (*o)[4], float m, float l, float oscale, int group, float* red, Dim dim, Add add) const {
    const int g8 = lane / 4, t4 = lane % 4;
    cp_async_wait<0>();
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    __syncthreads();  // red may overlay other warps' stages
    if (g8 < group) {
      float* w = red + g8 * (D + 2);
#pragma unroll
      for (int n = 0; n < D / 8; ++n) {
        w[dim(n, 0)] = fmaf(o[n][0] + o[n][2], oscale, add(n));
        w[dim(n, 1)] = fmaf(o[n][1] + o[n][3], oscale, add(n));
      }
      if (t4 == 0) w[D] = m, w[D + 1] = l;
    }
  }

  // The loop over the warp's tiles for the block's `group` query heads qs [G][D] (f32, rotated);
  // writes the warp's result to red (finish).
  __device__ void run(const float* qs, int group, float scale, float* red) {
    if constexpr (kQ8) {
      // 8-bit caches of head size 64 and 128 always have groups of 64 (kv_q8_group); run_q8 serves
      // any multiple of 32, instantiated for that one.
      if (cache.group != kTcQ8Group) __trap();
      run_q8<kTcQ8Group / 32>(qs, group, scale, red);
      return;
    }
    const int t4 = lane % 4;
    uint32_t qf[D / 16][4];  // A fragments: rows g8 (hi) and g8 + 8 (lo) of head g8
    {
      float x[D / 16][4];
      queries(qs, group, x);
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) split_fragment<false>(x[kk], qf[kk]);
    }
    float o[D / 8][4], m = -INFINITY, l = 0.0f;
#pragma unroll
    for (int n = 0; n < D / 8; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;

    for (int it = 0, t = warp; t < tiles; ++it, t += kW) {
      next_tile(it, t);
      const __nv_bfloat16* kt = tile(it % kStages);
      float s[2][4];
      qk_tiles<2, D, S>(s, qf, kt, lane);
      // Head g8's scores of keys 8n + 2·t4 + e: the hi and lo rows' sums.
      const int kb = lo + t * kTcDecKeys;
      float sc[4], p[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int n = i / 2, e = i % 2;
        sc[i] = kb + 8 * n + 2 * t4 + e < hi ? (s[n][e] + s[n][e + 2]) * scale : -INFINITY;
      }
      float corr;
      if (tc_softmax_step(sc, m, l, p, corr))
#pragma unroll
        for (int n = 0; n < D / 8; ++n) o[n][0] *= corr, o[n][1] *= corr, o[n][2] *= corr, o[n][3] *= corr;
      uint32_t pa[4];  // A fragment: rows g8 (hi) and g8 + 8 (lo), keys 2·t4 + {0, 1} and + 8
      split_fragment<false>(p, pa);
      pv_tiles<D, S>(o, pa, kt + kTcDecKeys * S, lane);
      __syncwarp();  // the stage is refilled kStages - 1 tiles on
    }
    finish(
        o, m, l, 1.0f, group, red, [&](int n, int e) { return n * 8 + 2 * t4 + e; }, [](int) { return 0.0f; });
  }

  // run for an 8-bit cache (see the top), its quantization groups GC chunks of 32 dims each. The
  // lanes read their MMA operands' codes straight from the stage: a lane's queries and keys pair up
  // dims 32c + 8·t4 + {0..7} over the k-steps 2c, 2c + 1 (a permutation of the sum), and its values
  // dims 32c + 4·col + j for column col of n-tile 4c + j (rows 2·t4 + {0, 1, 8, 9} of the tile).
  template <int GC>
  __device__ void run_q8(const float* qs, int group, float scale, float* red) {
    constexpr int kC = D / 32, kG = kC / GC, KS = tc_q8_kstride(D), VS = tc_q8_vstride(D);
    const int g8 = lane / 4, t4 = lane % 4;
    uint32_t qf[D / 16][4];
    float qsum[kG], fq;
    {
      float x[D / 16][4], amax = 0.0f;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        const float4 q = g8 < group ? *reinterpret_cast<const float4*>(qs + g8 * D + kk / 2 * 32 + 8 * t4 + 4 * (kk % 2))
                                    : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        x[kk][0] = q.x, x[kk][1] = q.y, x[kk][2] = q.z, x[kk][3] = q.w;
        amax = fmaxf(amax, fmaxf(fmaxf(fabsf(q.x), fabsf(q.y)), fmaxf(fabsf(q.z), fabsf(q.w))));
      }
      amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 1));
      amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 2));
      fq = f16_range_scale(amax, 14);
#pragma unroll
      for (int g = 0; g < kG; ++g) {
        float sum = 0.0f;
#pragma unroll
        for (int i = 0; i < 8 * GC; ++i) sum += x[2 * GC * g + i / 4][i % 4];
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        qsum[g] = sum + __shfl_xor_sync(0xffffffffu, sum, 2);
      }
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        float y[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) y[i] = x[kk][i] * fq;
        split_fragment<true>(y, qf[kk]);
      }
    }
    const float unq = 1.0f / fq;  // exact: a power of two
    float o[D / 8][4], vb[kG], m = -INFINITY, l = 0.0f, vmax = 0.0f, fv = 1.0f;
#pragma unroll
    for (int n = 0; n < D / 8; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
#pragma unroll
    for (int g = 0; g < kG; ++g) vb[g] = 0.0f;

    for (int it = 0, t = warp; t < tiles; ++it, t += kW) {
      next_tile(it, t);
      const auto* kc = reinterpret_cast<const uint8_t*>(buf + (it % kStages) * tc_dec_q8_stage_bytes(D));
      const uint8_t* vc = kc + kTcDecKeys * KS;
      const auto* kp = reinterpret_cast<const float2*>(vc + kTcDecKeys * VS);
      const float2* vp = kp + kTcDecKeys * (D / 32);
      float s[kG][2][4];
#pragma unroll
      for (int g = 0; g < kG; ++g)
#pragma unroll
        for (int n = 0; n < 2; ++n) s[g][n][0] = s[g][n][1] = s[g][n][2] = s[g][n][3] = 0.0f;
#pragma unroll
      for (int n = 0; n < 2; ++n) {
        const uint8_t* row = kc + (8 * n + g8) * KS + 8 * t4;  // key 8n + g8 of the tile
#pragma unroll
        for (int c = 0; c < kC; ++c) {
          const uint2 w = *reinterpret_cast<const uint2*>(row + 32 * c);
          uint32_t b[4];
          f16_codes(w.x, b[0], b[1]);
          f16_codes(w.y, b[2], b[3]);
          mma_f16(s[c / GC][n], qf[2 * c], b[0], b[1]);
          mma_f16(s[c / GC][n], qf[2 * c + 1], b[2], b[3]);
        }
      }
      // Key i of the lane (8n + 2·t4 + e, i = 2n + e): its score, and its values' pairs per group.
      const int kb = lo + t * kTcDecKeys;
      float sc[4], p[4], vm = vmax;
      float2 vsb[4][kG];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int n = i / 2, e = i % 2, key = 8 * n + 2 * t4 + e;
        float dot = 0.0f, bias = 0.0f;
#pragma unroll
        for (int g = 0; g < kG; ++g) {
          const float2 ks = kp[key * kG + g];
          dot = fmaf(ks.x, s[g][n][e] + s[g][n][e + 2], dot);
          bias = fmaf(ks.y, qsum[g], bias);
          vsb[i][g] = vp[key * kG + g];
          vm = fmaxf(vm, fabsf(vsb[i][g].x));
        }
        sc[i] = kb + key < hi ? fmaf(dot, unq, bias) * scale : -INFINITY;
      }
      float corr;
      bool moved = tc_softmax_step(sc, m, l, p, corr);
      vm = fmaxf(vm, __shfl_xor_sync(0xffffffffu, vm, 1));
      vm = fmaxf(vm, __shfl_xor_sync(0xffffffffu, vm, 2));  // the tile's 16 keys: the same in every lane
      float ocorr = corr;
      if (vm > vmax) {  // warp-uniform; p < 2^12, so |p · scale · fv| < 2^14
        const float f = f16_range_scale(vm, 2);
        ocorr *= f / fv;  // exact: powers of two
        fv = f, vmax = vm, moved = true;
      }
      if (moved)
#pragma unroll
        for (int n = 0; n < D / 8; ++n) o[n][0] *= ocorr, o[n][1] *= ocorr, o[n][2] *= ocorr, o[n][3] *= ocorr;
      const uint8_t* vrow = vc + 2 * t4 * VS + 4 * g8;  // rows 2·t4 (+1, +8, +9), the lane's column
#pragma unroll
      for (int g = 0; g < kG; ++g) {
        float a[4], add = 0.0f;
#pragma unroll
        for (int i = 0; i < 4; ++i) a[i] = p[i] * vsb[i][g].x * fv, add = fmaf(p[i], vsb[i][g].y, add);
        vb[g] = moved ? fmaf(vb[g], corr, add) : vb[g] + add;
        uint32_t pa[4];
        split_fragment<true>(a, pa);
#pragma unroll
        for (int c = g * GC; c < (g + 1) * GC; ++c) {
          const uint32_t w0 = *reinterpret_cast<const uint32_t*>(vrow + 32 * c);
          const uint32_t w1 = *reinterpret_cast<const uint32_t*>(vrow + VS + 32 * c);
          const uint32_t w2 = *reinterpret_cast<const uint32_t*>(vrow + 8 * VS + 32 * c);
          const uint32_t w3 = *reinterpret_cast<const uint32_t*>(vrow + 9 * VS + 32 * c);
          // Dims 32c + 4·g8 + j of keys (2·t4, 2·t4 + 1) and (2·t4 + 8, 2·t4 + 9), byte j of each word.
          uint32_t b[4][2];
          f16_codes(__byte_perm(w0, w1, 0x5140u), b[0][0], b[1][0]);
          f16_codes(__byte_perm(w0, w1, 0x7362u), b[2][0], b[3][0]);
          f16_codes(__byte_perm(w2, w3, 0x5140u), b[0][1], b[1][1]);
          f16_codes(__byte_perm(w2, w3, 0x7362u), b[2][1], b[3][1]);
#pragma unroll
          for (int j = 0; j < 4; ++j) mma_f16(o[4 * c + j], pa, b[j][0], b[j][1]);
        }
      }
      __syncwarp();  // the stage is refilled kStages - 1 tiles on
    }
#pragma unroll
    for (int g = 0; g < kG; ++g) {
      vb[g] += __shfl_xor_sync(0xffffffffu, vb[g], 1);
      vb[g] += __shfl_xor_sync(0xffffffffu, vb[g], 2);
    }
    finish(
        o, m, l, 1.0f / fv, group, red, [&](int n, int e) { return n / 4 * 32 + 8 * t4 + 4 * e + n % 4; },
        [&](int n) { return vb[n / (4 * GC)]; });
  }
};

}  // namespace
}  // namespace cpplm::cuda
