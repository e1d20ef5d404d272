// The decode step's key loop on tensor cores (attention_decode.cu's kernel for bf16 and 8-bit caches
// with head_dim 64 or 128): scores and p · V by m16n8k16 MMAs instead of f32 FMAs and shuffles per
// key row, so the step reads K/V at the memory's rate rather than the ALUs'.
//
// Numerics: the f32 queries and softmax weights enter the MMA as bf16 pairs (hi = bf16(x), lo =
// bf16(x - hi)), bf16 keys and values exactly, with f32 accumulation: each product carries about
// 2^-17 of relative error instead of f32's 2^-24. The MMA's 16 rows hold the group's query heads
// (rows g < 8: hi, rows g + 8: lo), so one MMA gives both halves. An 8-bit cache's rows are
// dequantized as the CPU does (scale · code + bias in f32) and rounded to bf16 (2^-9 of each value,
// below the 8-bit codes' own step), as the tensor-core prefill (attention_tc.cu) reads them.
//
// Work mapping: each warp of the block takes tiles of 16 keys of the block's split in turn (warp w:
// tiles w, w + kW, ...), brought to its own shared stages by cp.async (rows by kv_row: paged, ring
// and sink layouts alike; keys past the split zero-filled and masked) tc_dec_stages ahead. Per
// tile (an 8-bit cache's: its codes and pairs, dequantized to the warp's one bf16 tile when used):
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
template <int D>
constexpr int tc_dec_stages() {
  return D <= 64 ? 4 : 3;
}
constexpr size_t tc_dec_tile_bytes(int D) { return 2 * kTcDecKeys * (D + kTcDecPad) * sizeof(__nv_bfloat16); }
// An 8-bit stage: K and V codes [16][D], then K and V (scale, bias) pairs [16][D / 32] (groups >= 32).
constexpr size_t tc_dec_q8_stage_bytes(int D) { return 2 * kTcDecKeys * D + 2 * kTcDecKeys * (D / 32) * sizeof(float2); }
// Shared bytes of a warp's buffers: bf16 stages [stages][K, V][16 keys][D + pad], or 8-bit stages and one bf16 tile.
template <class KV, int D>
constexpr size_t tc_dec_warp_bytes() {
  if constexpr (std::is_same_v<KV, uint8_t>) return tc_dec_stages<D>() * tc_dec_q8_stage_bytes(D) + tc_dec_tile_bytes(D);
  return tc_dec_stages<D>() * tc_dec_tile_bytes(D);
}

// 8 bytes global -> shared, zero-filled when !valid (cp.async.ca: the 16-byte form's cg takes no 8).
__device__ __forceinline__ void cp_async8(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;" ::"r"(smem_addr(dst)), "l"(src), "r"(valid ? 8 : 0) : "memory");
}

// A bf16 pair (hi, lo) of x: hi + lo equals x to about 2^-17 of |x|.
__device__ __forceinline__ float bf16_hi(float x) { return __bfloat162float(__float2bfloat16_rn(x)); }

// One warp's share of a block's keys [lo, hi) (indices of the visible keys, see attention_decode.cu;
// hi excludes the step's own key).
template <class KV, int G, int D, int kW>
struct DecodeTcWarp {
  static constexpr int S = D + kTcDecPad, kStages = tc_dec_stages<D>();
  static constexpr bool kQ8 = std::is_same_v<KV, uint8_t>;
  const KvLayer& cache;
  int kvh, lo, hi, start, sinks;
  char* buf;  // this warp's stages (an 8-bit cache's: then its bf16 tile)
  int warp, lane, tiles;

  __device__ DecodeTcWarp(const KvLayer& c, int kv_head, int first, int end, int win_start, int sinks_end, void* stages)
      : cache(c), kvh(kv_head), lo(first), hi(end), start(win_start), sinks(sinks_end) {
    warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    buf = static_cast<char*>(stages) + warp * tc_dec_warp_bytes<KV, D>();
    tiles = hi > lo ? (hi - lo + kTcDecKeys - 1) / kTcDecKeys : 0;
  }
  __device__ __nv_bfloat16* tile(int st) const {
    if constexpr (kQ8) return reinterpret_cast<__nv_bfloat16*>(buf + kStages * tc_dec_q8_stage_bytes(D));
    return reinterpret_cast<__nv_bfloat16*>(buf + st * tc_dec_tile_bytes(D));
  }

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
    constexpr int kPieces = D / 16, kRowsPerPass = 32 / kPieces;
    char* codes = buf + st * tc_dec_q8_stage_bytes(D);
    float2* pairs = reinterpret_cast<float2*>(codes + 2 * kTcDecKeys * D);
#pragma unroll
    for (int i = 0; i < kTcDecKeys / kRowsPerPass; ++i) {
      const int kk = i * kRowsPerPass + lane / kPieces, part = lane % kPieces;
      const long long row = __shfl_sync(0xffffffffu, my, kk);
      const int64_t at = (row >= 0 ? row : 0) * D + part * 16;
      cp_async16(codes + kk * D + part * 16, static_cast<const uint8_t*>(cache.k) + at, row >= 0);
      cp_async16(codes + (kTcDecKeys + kk) * D + part * 16, static_cast<const uint8_t*>(cache.v) + at, row >= 0);
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

  // Stage st's 8-bit codes to the bf16 tile: scale · code + bias in f32 (the CPU's), then rounded.
  __device__ void dequantize(int st) const {
    constexpr int kPieces = D / 16;  // 16 codes of one group each
    const char* codes = buf + st * tc_dec_q8_stage_bytes(D);
    const float2* pairs = reinterpret_cast<const float2*>(codes + 2 * kTcDecKeys * D);
    const int ng = D / cache.group;
    __nv_bfloat16* t = tile(0);
#pragma unroll 2
    for (int p = lane; p < 2 * kTcDecKeys * kPieces; p += 32) {
      const int r = p / kPieces, part = p % kPieces;  // r: K rows 0..15, then V rows
      const uint4 c = *reinterpret_cast<const uint4*>(codes + r * D + part * 16);
      const float2 sb = pairs[(r / kTcDecKeys) * kTcDecKeys * (D / 32) + (r % kTcDecKeys) * ng + part * 16 / cache.group];
      const uint32_t w[4] = {c.x, c.y, c.z, c.w};
      uint32_t o[8];
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        const uint32_t word = w[i / 2], sh = (i % 2) * 16;
        // The code as an exact float: 2^23 + code, less 2^23.
        const float c0 = __uint_as_float(0x4B000000u | ((word >> sh) & 0xffu)) - 8388608.0f;
        const float c1 = __uint_as_float(0x4B000000u | ((word >> (sh + 8)) & 0xffu)) - 8388608.0f;
        const float f0 = fmaf(sb.x, c0, sb.y), f1 = fmaf(sb.x, c1, sb.y);
        o[i] = pack_bf16(f0, f1);
      }
      uint4* dst = reinterpret_cast<uint4*>(t + r * S + part * 16);
      dst[0] = make_uint4(o[0], o[1], o[2], o[3]);
      dst[1] = make_uint4(o[4], o[5], o[6], o[7]);
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

  // The loop over the warp's tiles for the block's `group` query heads qs [G][D] (f32, rotated);
  // writes the warp's result to red [G][D + 2] (acc over head dims, then m and l), as the f32 loop does.
  __device__ void run(const float* qs, int group, float scale, float* red) {
    const int g8 = lane / 4, t4 = lane % 4;
    uint32_t qf[D / 16][4];  // A fragments: rows g8 (hi) and g8 + 8 (lo) of head g8
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      float x[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      if (g8 < group) {
        const float* q = qs + g8 * D + kk * 16 + 2 * t4;
        x[0] = q[0], x[1] = q[1], x[2] = q[8], x[3] = q[9];
      }
      const float h0 = bf16_hi(x[0]), h1 = bf16_hi(x[1]), h2 = bf16_hi(x[2]), h3 = bf16_hi(x[3]);
      qf[kk][0] = pack_bf16(h0, h1);
      qf[kk][1] = pack_bf16(x[0] - h0, x[1] - h1);
      qf[kk][2] = pack_bf16(h2, h3);
      qf[kk][3] = pack_bf16(x[2] - h2, x[3] - h3);
    }
    float o[D / 8][4], m = -INFINITY, l = 0.0f;
#pragma unroll
    for (int n = 0; n < D / 8; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;

    for (int it = 0, t = warp; t < tiles; ++it, t += kW) {
      const int tn = t + (kStages - 1) * kW;
      if (tn < tiles) load(tn, (it + kStages - 1) % kStages);
      cp_async_commit();
      cp_async_wait<kStages - 1>();
      __syncwarp();
      if constexpr (kQ8) {
        dequantize(it % kStages);
        __syncwarp();
      }
      const __nv_bfloat16* kt = tile(it % kStages);
      const __nv_bfloat16* vt = kt + kTcDecKeys * S;
      float s[2][4];
      qk_tiles<2, D, S>(s, qf, kt, lane);
      // Head g8's scores of keys 8n + 2·t4 + e: the hi and lo rows' sums.
      const int kb = lo + t * kTcDecKeys;
      float sc[4], mx = m;
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int n = i / 2, e = i % 2;
        sc[i] = kb + 8 * n + 2 * t4 + e < hi ? (s[n][e] + s[n][e + 2]) * scale : -INFINITY;
        mx = fmaxf(mx, sc[i]);
      }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float base = mx == -INFINITY ? 0.0f : mx;  // no visible key yet: every p is 0
      const float corr = expf(m - base);
      m = mx;
      l *= corr;
      float p[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) p[i] = expf(sc[i] - base), l += p[i];
#pragma unroll
      for (int n = 0; n < D / 8; ++n) o[n][0] *= corr, o[n][1] *= corr, o[n][2] *= corr, o[n][3] *= corr;
      uint32_t pa[4];  // A fragment: rows g8 (hi) and g8 + 8 (lo), keys 2·t4 + {0, 1} and + 8
      const float h0 = bf16_hi(p[0]), h1 = bf16_hi(p[1]), h2 = bf16_hi(p[2]), h3 = bf16_hi(p[3]);
      pa[0] = pack_bf16(h0, h1);
      pa[1] = pack_bf16(p[0] - h0, p[1] - h1);
      pa[2] = pack_bf16(h2, h3);
      pa[3] = pack_bf16(p[2] - h2, p[3] - h3);
      pv_tiles<D, S>(o, pa, vt, lane);
      __syncwarp();  // the stage is refilled kStages - 1 tiles on
    }
    cp_async_wait<0>();
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    __syncthreads();  // red may overlay other warps' stages
    if (g8 < group) {
      float* w = red + g8 * (D + 2);
#pragma unroll
      for (int n = 0; n < D / 8; ++n) {
        w[n * 8 + 2 * t4] = o[n][0] + o[n][2];
        w[n * 8 + 2 * t4 + 1] = o[n][1] + o[n][3];
      }
      if (t4 == 0) w[D] = m, w[D + 1] = l;
    }
  }
};

}  // namespace
}  // namespace cpplm::cuda
