// ggml integer dot products, AVX-512 VNNI (vpdpbusd): ggml_qdot_impl.h compiled for this instruction set.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "backends/cpu/amx_tiles.h"
#include "backends/cpu/avx512_transpose.h"
#include "backends/cpu/ggml_blocks.h"
#include "backends/cpu/ggml_dequant.h"
#include "backends/cpu/ggml_qdot.h"

namespace cpplm::cpu {
namespace avx512_ggml {

#include "backends/cpu/ggml_qdot_impl.h"

struct V {
  static __m256i dot(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
  static constexpr bool kWide = true;  // u up to 255 without saturation
};

// Prefill (n >= kGgmlPanelMin, legacy types): tokens are the 16 lanes of a zmm (GgmlPanelBlock). R rows × T groups
// of 16 tokens share each unpacked weight block; per (row, token) the block's integer sum, then its f32 term as
// ggml's generic vec_dot forms it added in block order: the same values as the row-streaming kernel.
// acc[r][t] (16 tokens of group g0 + t per vector, rows r0 + r) to y, without the last group's padding.
// Output column `col` of token group g (16 lanes, o[l] for token 16g + l) to y, without the last group's padding.
inline void store_lanes(const float* o, const GgmlActs& a, int g, int64_t col, float* y, int64_t ldy) {
  const int tok0 = g * 16, lanes = std::min(16, a.n - tok0);
  for (int l = 0; l < lanes; ++l) y[static_cast<int64_t>(tok0 + l) * ldy + col] = o[l];
}

// An AMX tile's sums (o[r][l]: row r0 + r, token 16g + l) to y: transposed in registers (each token's 16 rows are
// contiguous in y), then one store of `rows` floats per token, without the last group's padding.
inline void store_rows(const float (&o)[16][16], const GgmlActs& a, int g, int64_t r0, int rows, float* y, int64_t ldy) {
  __m512 v[16];
  for (int i = 0; i < 16; ++i) v[i] = _mm512_load_ps(o[i]);
  avx512_util::transpose16(v);
  const __mmask16 mask = static_cast<__mmask16>((1u << rows) - 1);
  const int tok0 = g * 16, lanes = std::min(16, a.n - tok0);
  for (int l = 0; l < lanes; ++l) _mm512_mask_storeu_ps(y + static_cast<int64_t>(tok0 + l) * ldy + r0, mask, v[l]);
}

template <int T, int R>
void store_tile(const __m512 (&acc)[R][T], const GgmlActs& a, int g0, int64_t r0, float* y, int64_t ldy) {
  for (int t = 0; t < T; ++t)
    for (int r = 0; r < R; ++r) {
      alignas(64) float o[16];
      _mm512_store_ps(o, acc[r][t]);
      store_lanes(o, a, g0 + t, r0 + r, y, ldy);
    }
}

// Rows [m0, m1) × all token groups in tiles of R rows × T groups, the edges in smaller tiles:
// tile.template operator()<TT, RR>(g0, r) computes one.
template <int T, int R, class Tile>
void walk_tiles(const GgmlActs& a, int64_t m0, int64_t m1, const Tile& tile) {
  const int groups = (a.n + 15) / 16;
  int g0 = 0;
  for (; g0 + T <= groups; g0 += T) {
    int64_t r = m0;
    for (; r + R <= m1; r += R) tile.template operator()<T, R>(g0, r);
    for (; r < m1; ++r) tile.template operator()<T, 1>(g0, r);
  }
  if constexpr (T > 2) {  // two groups left: one pass over the rows for both
    if (g0 + 2 == groups) {
      int64_t r = m0;
      for (; r + R <= m1; r += R) tile.template operator()<2, R>(g0, r);
      for (; r < m1; ++r) tile.template operator()<2, 1>(g0, r);
      return;
    }
  }
  for (; g0 < groups; ++g0) {
    int64_t r = m0;
    for (; r + R <= m1; r += R) tile.template operator()<1, R>(g0, r);
    for (; r < m1; ++r) tile.template operator()<1, 1>(g0, r);
  }
}

// Bytes p[0..3] broadcast to every 32-bit lane by a load (asm: GCC would otherwise forward codes just stored from
// their register, with two shuffles per quad, work for the port the products need). tile_k's quads with it: no
// faster (Q4_K_M, one thread, three alternations).
inline __m512i bcast4(const uint8_t* p) {
  __m512i v;
  __asm__("vpbroadcastd %1, %0" : "=v"(v) : "m"(*reinterpret_cast<const int32_t(*)[1]>(p)));
  return v;
}

// A block's f32 term for 16 tokens from its exact integer sums, as ggml's generic vec_dot forms it (dx, mx: the
// row's block scale and min; dy and p: the tokens').
template <detail::Legacy L>
inline __m512 legacy_term(__m512i isum, float dx, float mx, __m512 dy, const GgmlPanelBlock& p) {
  using I = detail::LegacyInfo<L>;
  const __m512 fi = _mm512_maskz_cvtepi32_ps(static_cast<__mmask16>(0xFFFF), isum);  // maskz: g++ 12 warns on the unmasked form
  const __m512 dxv = _mm512_set1_ps(dx);
  __m512 term;
  if constexpr (L == detail::Legacy::Q8_0) {
    term = _mm512_mul_ps(fi, _mm512_mul_ps(dxv, dy));
  } else if constexpr (L == detail::Legacy::Q4_0) {
    term = _mm512_mul_ps(detail::opaque(_mm512_mul_ps(fi, dxv)), dy);
  } else if constexpr (I::kMin) {
    const __m512 mt = detail::opaque(_mm512_mul_ps(_mm512_set1_ps(mx), _mm512_loadu_ps(p.s)));
    term = _mm512_add_ps(detail::opaque(_mm512_mul_ps(_mm512_mul_ps(dxv, dy), fi)), mt);
  } else {
    term = _mm512_mul_ps(_mm512_mul_ps(dxv, dy), fi);
  }
  return detail::opaque(term);
}

template <detail::Legacy L, int T, int R>
void tile_legacy(const uint8_t* w, size_t row_bytes, const GgmlActs& a, int g0, int64_t r0, float* y, int64_t ldy) {
  using I = detail::LegacyInfo<L>;
  constexpr int kOff = I::kSigned ? 128 : I::kOff;
  const int64_t nb = a.k / 32;
  const GgmlPanelBlock* pan[T];
  for (int t = 0; t < T; ++t) pan[t] = ggml_panel(a, g0 + t);
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int64_t b = 0; b < nb; ++b) {
    alignas(32) uint8_t wb[R][32];
    float dx[R], mx[R];
    for (int r = 0; r < R; ++r) {
      uint16_t dh = 0, mh = 0;
      __m256i c = detail::legacy_codes<L>(w + static_cast<size_t>(r0 + r) * row_bytes + b * I::kBytes, &dh, &mh);
      if constexpr (I::kSigned) c = _mm256_xor_si256(c, flip);
      _mm256_store_si256(reinterpret_cast<__m256i*>(wb[r]), c);
      dx[r] = detail::h2f(dh);
      mx[r] = detail::h2f(mh);
    }
    // Per row, each code quad is broadcast once (bcast4) for all T groups. 1.10x the prefill on one thread (1B
    // Q4_0, pp256, three alternations) against groups outer, rows inner, with GCC's broadcasts from registers.
    __m512i init[T];
    for (int t = 0; t < T; ++t) {
      init[t] = _mm512_setzero_si512();
      if constexpr (kOff != 0) init[t] = _mm512_mullo_epi32(_mm512_loadu_si512(pan[t][b].sum), _mm512_set1_epi32(-kOff));
    }
    for (int r = 0; r < R; ++r) {
      __m512i isum[T];
      for (int t = 0; t < T; ++t) isum[t] = init[t];
      for (int c = 0; c < 8; ++c) {
        const __m512i wv = bcast4(wb[r] + 4 * c);
        for (int t = 0; t < T; ++t) isum[t] = _mm512_dpbusd_epi32(isum[t], wv, _mm512_loadu_si512(pan[t][b].q[c]));
      }
      for (int t = 0; t < T; ++t)
        acc[r][t] = _mm512_add_ps(acc[r][t], legacy_term<L>(isum[t], dx[r], mx[r], _mm512_loadu_ps(pan[t][b].d), pan[t][b]));
    }
  }
  store_tile<T, R>(acc, a, g0, r0, y, ldy);
}

// The same on AMX (cpu::amx()): per tile of 16 rows, every block's codes are unpacked once into [block][16 rows][32
// bytes] (an A tile each), with the rows' d and m: signed values where the type has them (codes less their offset),
// multiplied by tdpbssd, so no Σq·offset is subtracted; q4_1 and q5_1 stay unsigned (tdpbusd). Then per group of 16
// tokens one product per block with the panel block's codes (GgmlPanelBlock::q is a B tile), and each (row, token)
// takes tile_legacy's f32 steps in block order from the same integer sums: the same bits. The panel is streamed once
// per tile of rows; its blocks are prefetched two ahead.
template <detail::Legacy L>
void prefill_legacy_amx(const uint8_t* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  using I = detail::LegacyInfo<L>;
  using namespace amx_int8;
  constexpr bool kSigned = !I::kMin;
  const int nb = static_cast<int>(a.k / 32), groups = (a.n + 15) / 16;
  thread_local std::vector<uint8_t> codes_tl;
  thread_local std::vector<float> dxs_tl, mxs_tl;
  codes_tl.resize(static_cast<size_t>(nb) * 16 * 32);
  dxs_tl.resize(static_cast<size_t>(nb) * 16);
  mxs_tl.resize(static_cast<size_t>(nb) * 16);
  // Plain pointers for the loops: a thread_local named there is a call (__tls_get_addr) after each tile asm, which
  // clobbers every vector register and left the 16 sums on the stack.
  uint8_t* const codes = codes_tl.data();
  float* const dxs = dxs_tl.data();
  float* const mxs = mxs_tl.data();
  const __m256i off = _mm256_set1_epi8(static_cast<char>(I::kOff));
  const Tiles tiles;
  for (int64_t r0 = m0; r0 < m1; r0 += 16) {
    const int rows = static_cast<int>(std::min<int64_t>(16, m1 - r0));
    for (int b = 0; b < nb; ++b)
      for (int i = 0; i < 16; ++i) {
        uint8_t* dst = codes + (static_cast<size_t>(b) * 16 + i) * 32;
        uint16_t dh = 0, mh = 0;
        __m256i c = _mm256_setzero_si256();
        if (i < rows) {
          c = detail::legacy_codes<L>(w + static_cast<size_t>(r0 + i) * row_bytes + b * I::kBytes, &dh, &mh);
          if constexpr (I::kOff != 0) c = _mm256_sub_epi8(c, off);
        }
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), c);
        dxs[b * 16 + i] = detail::h2f(dh);
        mxs[b * 16 + i] = detail::h2f(mh);
      }
    for (int g = 0; g < groups; ++g) {
      const GgmlPanelBlock* pan = ggml_panel(a, g);
      __m512 acc[16];
#pragma GCC unroll 16
      for (int r = 0; r < 16; ++r) acc[r] = _mm512_setzero_ps();
      alignas(64) int32_t c[2][16 * 16];
      for (int b = 0; b < nb + kUseLag; ++b) {  // the schedule of amx_tiles.h
        if (b < nb) issue<kSigned>(b % 4, codes + static_cast<size_t>(b) * 16 * 32, 32, pan[b].q, 64);
        if (b + 2 < nb) {
          const char* next = reinterpret_cast<const char*>(pan + b + 2);
          for (int o = 0; o < 512; o += 64) _mm_prefetch(next + o, _MM_HINT_T0);
          _mm_prefetch(reinterpret_cast<const char*>(pan[b + 2].d), _MM_HINT_T0);
          if constexpr (I::kMin) _mm_prefetch(reinterpret_cast<const char*>(pan[b + 2].s), _MM_HINT_T0);
        }
        if (b >= kStoreLag && b - kStoreLag < nb) store((b - kStoreLag) % 4, c[(b - kStoreLag) % 2]);
        const int e = b - kUseLag;
        if (e < 0 || e >= nb) continue;
        const GgmlPanelBlock& p = pan[e];
        const __m512 dy = _mm512_loadu_ps(p.d);
#pragma GCC unroll 16
        for (int r = 0; r < 16; ++r)
          acc[r] = _mm512_add_ps(acc[r],
                                 legacy_term<L>(_mm512_load_si512(c[e % 2] + r * 16), dxs[e * 16 + r], mxs[e * 16 + r], dy, p));
      }
      alignas(64) float o[16][16];
#pragma GCC unroll 16
      for (int r = 0; r < 16; ++r) _mm512_store_ps(o[r], acc[r]);
      store_rows(o, a, g, r0, rows, y, ldy);
    }
  }
}

template <detail::Legacy L>
void prefill_legacy(const uint8_t* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  if (amx()) return prefill_legacy_amx<L>(w, row_bytes, a, m0, m1, y, ldy);
  walk_tiles<3, 3>(a, m0, m1, [&]<int T, int R>(int g0, int64_t r) { tile_legacy<L, T, R>(w, row_bytes, a, g0, r, y, ldy); });
}

// A super-block's f32 term for 16 tokens from its exact integer sums, as k_term forms it (dx, dm: the row's d and
// dmin; dy: the tokens' scale).
template <detail::KType K>
inline __m512 k_term_ps(__m512i tot, __m512i summ, float dx, float dm, __m512 dy) {
  const __m512 dxy = _mm512_mul_ps(_mm512_set1_ps(dx), dy);
  if constexpr (detail::KInfo<K>::kMin) {
    const __m512 ft = _mm512_maskz_cvtepi32_ps(static_cast<__mmask16>(0xFFFF), tot);
    const __m512 fs = _mm512_maskz_cvtepi32_ps(static_cast<__mmask16>(0xFFFF), summ);
    const __m512 p1 = detail::opaque(_mm512_mul_ps(dxy, ft));
    const __m512 p2 = detail::opaque(_mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(dm), dy), fs));
    return detail::opaque(_mm512_sub_ps(p1, p2));
  } else {
    const __m512 ft = _mm512_maskz_cvtepi32_ps(static_cast<__mmask16>(0xFFFF), _mm512_sub_epi32(tot, summ));
    return detail::opaque(_mm512_mul_ps(dxy, ft));
  }
}

// Prefill with the K types: the same panel (q8_K codes, sums per 32 and per first 16 columns, the super-block's d
// in every block); per (row, token) the super-block's exact integer sums over 16-column halves, then the row
// kernel's f32 term (k_term), so a token gets the same bits as from rows_k.
template <detail::KType K, int T, int R>
void tile_k(const uint8_t* w, size_t row_bytes, const GgmlActs& a, int g0, int64_t r0, float* y, int64_t ldy) {
  const int64_t nsb = a.k / 256;
  const GgmlPanelBlock* pan[T];
  for (int t = 0; t < T; ++t) pan[t] = ggml_panel(a, g0 + t);
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t sb = 0; sb < nsb; ++sb) {
    alignas(32) uint8_t wb[R][256];
    alignas(32) int32_t s16[R][16], mw[R][16];
    float dx[R], dm[R];
    for (int r = 0; r < R; ++r) {
      __m256i codes[8], sv[2], mv[2];
      detail::k_unpack<K>(w + static_cast<size_t>(r0 + r) * row_bytes + sb * detail::KInfo<K>::kBytes, codes, sv, mv, &dx[r],
                          &dm[r]);
      for (int i = 0; i < 8; ++i) _mm256_store_si256(reinterpret_cast<__m256i*>(wb[r] + 32 * i), codes[i]);
      for (int h = 0; h < 2; ++h) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(s16[r] + 8 * h), sv[h]);
        _mm256_store_si256(reinterpret_cast<__m256i*>(mw[r] + 8 * h), mv[h]);
      }
    }
    for (int t = 0; t < T; ++t) {
      __m512i tot[R], summ[R];
      for (int r = 0; r < R; ++r) tot[r] = summ[r] = _mm512_setzero_si512();
      for (int j = 0; j < 8; ++j) {
        const GgmlPanelBlock& p = pan[t][sb * 8 + j];
        __m512i av[8];
        for (int c = 0; c < 8; ++c) av[c] = _mm512_loadu_si512(p.q[c]);
        const __m512i slo = _mm512_loadu_si512(p.sum_lo);
        const __m512i shi = _mm512_sub_epi32(_mm512_loadu_si512(p.sum), slo);
        for (int r = 0; r < R; ++r) {
          __m512i ia = _mm512_setzero_si512(), ib = _mm512_setzero_si512();
          for (int c = 0; c < 4; ++c) {
            int32_t w4;
            std::memcpy(&w4, wb[r] + 32 * j + 4 * c, 4);
            ia = _mm512_dpbusd_epi32(ia, _mm512_set1_epi32(w4), av[c]);
            std::memcpy(&w4, wb[r] + 32 * j + 16 + 4 * c, 4);
            ib = _mm512_dpbusd_epi32(ib, _mm512_set1_epi32(w4), av[c + 4]);
          }
          const int32_t sa = s16[r][2 * j], sb2 = s16[r][2 * j + 1];
          tot[r] = _mm512_add_epi32(tot[r], sa == sb2 ? _mm512_mullo_epi32(_mm512_add_epi32(ia, ib), _mm512_set1_epi32(sa))
                                                      : _mm512_add_epi32(_mm512_mullo_epi32(ia, _mm512_set1_epi32(sa)),
                                                                         _mm512_mullo_epi32(ib, _mm512_set1_epi32(sb2))));
          const int32_t ma = mw[r][2 * j], mb = mw[r][2 * j + 1];
          summ[r] = _mm512_add_epi32(summ[r], ma == mb ? _mm512_mullo_epi32(_mm512_add_epi32(slo, shi), _mm512_set1_epi32(ma))
                                                       : _mm512_add_epi32(_mm512_mullo_epi32(slo, _mm512_set1_epi32(ma)),
                                                                          _mm512_mullo_epi32(shi, _mm512_set1_epi32(mb))));
        }
      }
      const __m512 dy = _mm512_loadu_ps(pan[t][sb * 8].d);
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_add_ps(acc[r][t], k_term_ps<K>(tot[r], summ[r], dx[r], dm[r], dy));
    }
  }
  store_tile<T, R>(acc, a, g0, r0, y, ldy);
}

// A 16-row AMX tile's per-row data of every super-block: mw as int16 pairs (mw[2j], mw[2j+1]) per 32-bit lane
// (|mw| <= 4,096) [super-block][16 rows][8], and d, dmin [super-block][16 rows].
struct KTileRows {
  std::vector<int32_t> mwp;
  std::vector<float> dx, dm;
  void resize(int nsb) {
    mwp.resize(static_cast<size_t>(nsb) * 16 * 8);
    dx.resize(static_cast<size_t>(nsb) * 16);
    dm.resize(static_cast<size_t>(nsb) * 16);
  }
  const int32_t* pairs(int sb, int r) const { return mwp.data() + (sb * 16 + r) * 8; }
  // Every super-block of the tile's rows from r0 (zeros past `rows`): each (sb, i, codes, scales) as k_unpack
  // gives them to `each`.
  template <detail::KType K, class F>
  void unpack_all(const uint8_t* w, size_t row_bytes, int64_t r0, int rows, int nsb, F&& each) {
    for (int sb = 0; sb < nsb; ++sb)
      for (int i = 0; i < 16; ++i) {
        __m256i cv[8], sv[2];
        unpack<K>(w, row_bytes, r0, i, rows, sb, cv, sv);
        each(sb, i, cv, sv);
      }
  }
  template <detail::KType K>
  void unpack(const uint8_t* w, size_t row_bytes, int64_t r0, int i, int rows, int sb, __m256i cv[8], __m256i sv[2]) {
    __m256i mv[2];
    float* d = &dx[sb * 16 + i];
    float* dmin = &dm[sb * 16 + i];
    *d = *dmin = 0.0f;
    if (i < rows) {
      detail::k_unpack<K>(w + static_cast<size_t>(r0 + i) * row_bytes + sb * detail::KInfo<K>::kBytes, cv, sv, mv, d, dmin);
    } else {
      for (int j = 0; j < 8; ++j) cv[j] = _mm256_setzero_si256();
      sv[0] = sv[1] = mv[0] = mv[1] = _mm256_setzero_si256();
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(mwp.data() + (sb * 16 + i) * 8),
                        _mm256_permute4x64_epi64(_mm256_packs_epi32(mv[0], mv[1]), 0xD8));
  }
};

// Per block of super-block sb: (Σa over its first 16 columns, over its last 16) per token as int16 pairs (each at
// most 2,032 in magnitude), so that Σ mw·Σa of a row is 8 vpdpwssd (offset_sum).
inline void sum_pairs(const GgmlPanelBlock* pan, int sb, __m512i sp[8]) {
  for (int j = 0; j < 8; ++j) {
    const GgmlPanelBlock& p = pan[sb * 8 + j];
    const __m512i slo = _mm512_loadu_si512(p.sum_lo), shi = _mm512_sub_epi32(_mm512_loadu_si512(p.sum), slo);
    sp[j] = _mm512_or_si512(_mm512_and_si512(slo, _mm512_set1_epi32(0xFFFF)),
                            _mm512_maskz_slli_epi32(static_cast<__mmask16>(0xFFFF), shi, 16));
  }
}
inline __m512i offset_sum(const __m512i sp[8], const int32_t* mwp) {
  __m512i summ = _mm512_setzero_si512();
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) summ = _mm512_dpwssd_epi32(summ, sp[j], _mm512_set1_epi32(mwp[j]));
  return summ;
}

// The same on AMX (cpu::amx()). Per tile of 16 rows, every super-block is unpacked once (k_unpack: unsigned codes,
// the integer scale s16 and offset weight mw of each 16 columns, d and dmin) into [block of 32][16 rows][32 bytes]
// A tiles. Per group of 16 tokens, one tdpbusd per unit of kU columns (32 where a scale covers 32 columns, else 16:
// two per block) gives every (row, token)'s Σ code·a; tot += s · that, exact integers as tile_k forms them; at the
// super-block's end summ = Σ mw · Σa from the panel's sums, and tile_k's f32 term in super-block order: the same bits.
template <detail::KType K>
void prefill_k_amx(const uint8_t* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  using namespace amx_int8;
  constexpr int kU = K == detail::KType::Q4_K || K == detail::KType::Q5_K || K == detail::KType::IQ4_XS ? 32 : 16;
  constexpr int kUnits = 256 / kU;  // units per super-block
  const int nsb = static_cast<int>(a.k / 256), nu = nsb * kUnits, groups = (a.n + 15) / 16;
  thread_local std::vector<uint8_t> codes;
  thread_local std::vector<int32_t> s16;  // [super-block][16 rows][16 groups of 16 columns]
  thread_local KTileRows kr;
  codes.resize(static_cast<size_t>(nsb) * 8 * 16 * 32);
  s16.resize(static_cast<size_t>(nsb) * 16 * 16);
  kr.resize(nsb);
  const Tiles tiles(kU);
  for (int64_t r0 = m0; r0 < m1; r0 += 16) {
    const int rows = static_cast<int>(std::min<int64_t>(16, m1 - r0));
    kr.unpack_all<K>(w, row_bytes, r0, rows, nsb, [&](int sb, int i, const __m256i* cv, const __m256i* sv) {
      for (int j = 0; j < 8; ++j)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(codes.data() + ((static_cast<size_t>(sb) * 8 + j) * 16 + i) * 32), cv[j]);
      for (int h = 0; h < 2; ++h) _mm256_storeu_si256(reinterpret_cast<__m256i*>(s16.data() + (sb * 16 + i) * 16 + 8 * h), sv[h]);
    });
    for (int g = 0; g < groups; ++g) {
      const GgmlPanelBlock* pan = ggml_panel(a, g);
      alignas(64) float acc[16][16] = {};
      __m512i tot[16];
      alignas(64) int32_t c[2][16 * 16];
      for (int b = 0; b < nu + kUseLag; ++b) {  // the schedule of amx_tiles.h
        if (b < nu) {
          const int blk = b * kU / 32, half = kU == 16 ? b % 2 : 0;  // block of 32 columns (over all super-blocks)
          issue(b % 4, codes.data() + static_cast<size_t>(blk) * 16 * 32 + half * 16, 32, pan[blk].q[4 * half], 64);
        }
        if (b >= kStoreLag && b - kStoreLag < nu) store((b - kStoreLag) % 4, c[(b - kStoreLag) % 2]);
        const int e = b - kUseLag;
        if (e < 0 || e >= nu) continue;
        const int sb = e / kUnits, grp = (e % kUnits) * (kU / 16);  // the unit's first group of 16 columns
        if (e % kUnits == 0)
#pragma GCC unroll 16
          for (int r = 0; r < 16; ++r) tot[r] = _mm512_setzero_si512();
        const int32_t* sc = s16.data() + sb * 256 + grp;
#pragma GCC unroll 16
        for (int r = 0; r < 16; ++r)
          tot[r] =
              _mm512_add_epi32(tot[r], _mm512_mullo_epi32(_mm512_load_si512(c[e % 2] + r * 16), _mm512_set1_epi32(sc[r * 16])));
        if (e % kUnits != kUnits - 1) continue;
        // The super-block's end: Σ mw·Σa per row (the same integers by int16 pair products), then tile_k's f32 term.
        __m512i sp[8];
        sum_pairs(pan, sb, sp);
        const __m512 dy = _mm512_loadu_ps(pan[sb * 8].d);
        for (int r = 0; r < 16; ++r) {
          const __m512i summ = offset_sum(sp, kr.pairs(sb, r));
          _mm512_store_ps(acc[r], _mm512_add_ps(_mm512_load_ps(acc[r]),
                                                k_term_ps<K>(tot[r], summ, kr.dx[sb * 16 + r], kr.dm[sb * 16 + r], dy)));
        }
      }
      store_rows(acc, a, g, r0, rows, y, ldy);
    }
  }
}

// Q4_K and Q5_K on AMX with each 32 columns' 6-bit scale folded into the codes: s = 8·hi + lo, and code·lo, code·hi
// stay below 256 (codes of at most 5 bits), so two A tiles per block let the tile unit sum a whole super-block's
// Σ s·code·a into two C tiles (tot = C_lo + 8·C_hi, the same integers as prefill_k_amx's per-block products) with no
// per-block tile store or multiply. Two groups of 16 tokens run together: tiles 0, 1 hold a block's folded codes
// (16 rows × 32 bytes), 2, 3 the two groups' activations (8 × 64), 4-7 the sums (lo, hi of each group).
namespace fold {
// Tiles 0, 1: 16 rows × 32 code bytes; 2, 3: 8 rows × 64 activation bytes; 4-7: 16 × 16 int32 sums.
inline const amx_int8::Tiles::Shape kShapes[8] = {{16, 32}, {16, 32}, {8, 64}, {8, 64}, {16, 64}, {16, 64}, {16, 64}, {16, 64}};
inline void zero() { asm volatile("tilezero %%tmm4\n\ttilezero %%tmm5\n\ttilezero %%tmm6\n\ttilezero %%tmm7" ::: "memory"); }
// One block: codes·lo and codes·hi (A, 32 bytes a row) by the two groups' activations (B, 64 bytes a row).
inline void block(const void* lo, const void* hi, const void* b0, const void* b1) {
  asm volatile(
      "tileloadd (%0,%4,1), %%tmm0\n\t"
      "tileloadd (%2,%5,1), %%tmm2\n\t"
      "tdpbusd %%tmm2, %%tmm0, %%tmm4\n\t"
      "tileloadd (%1,%4,1), %%tmm1\n\t"
      "tdpbusd %%tmm2, %%tmm1, %%tmm5\n\t"
      "tileloadd (%3,%5,1), %%tmm3\n\t"
      "tdpbusd %%tmm3, %%tmm0, %%tmm6\n\t"
      "tdpbusd %%tmm3, %%tmm1, %%tmm7"
      :
      : "r"(lo), "r"(hi), "r"(b0), "r"(b1), "r"(int64_t{32}), "r"(int64_t{64})
      : "memory");
}
// The four sums to c (4 × 16 rows × 16 int32): group 0's lo, hi, then group 1's.
inline void store(int32_t* c) {
  asm volatile(
      "tilestored %%tmm4, (%0,%1,1)\n\t"
      "tilestored %%tmm5, (%2,%1,1)\n\t"
      "tilestored %%tmm6, (%3,%1,1)\n\t"
      "tilestored %%tmm7, (%4,%1,1)"
      :
      : "r"(c), "r"(int64_t{64}), "r"(c + 256), "r"(c + 512), "r"(c + 768)
      : "memory");
}
// Each byte of v (at most 31) times f (at most 7).
inline __m256i mul_bytes(__m256i v, int f) {
  const __m256i k = _mm256_set1_epi16(static_cast<int16_t>(f)), lo = _mm256_set1_epi16(0x00FF);
  const __m256i even = _mm256_mullo_epi16(_mm256_and_si256(v, lo), k);
  const __m256i odd = _mm256_mullo_epi16(_mm256_srli_epi16(v, 8), k);
  return _mm256_or_si256(even, _mm256_slli_epi16(odd, 8));
}
}  // namespace fold

template <detail::KType K>
void prefill_k_amx_fold(const uint8_t* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  static_assert(K == detail::KType::Q4_K || K == detail::KType::Q5_K);
  const int nsb = static_cast<int>(a.k / 256), groups = (a.n + 15) / 16;
  thread_local std::vector<uint8_t> codes;  // [block of 32 over all super-blocks][lo, hi][16 rows][32 bytes]
  thread_local KTileRows kr;
  codes.resize(static_cast<size_t>(nsb) * 8 * 2 * 16 * 32);
  kr.resize(nsb);
  const amx_int8::Tiles tiles(fold::kShapes);
  for (int64_t r0 = m0; r0 < m1; r0 += 16) {
    const int rows = static_cast<int>(std::min<int64_t>(16, m1 - r0));
    kr.unpack_all<K>(w, row_bytes, r0, rows, nsb, [&](int sb, int i, const __m256i* cv, const __m256i* sv) {
      alignas(32) int32_t sc[16];  // each 16 columns' scale (a block's two are equal)
      for (int h = 0; h < 2; ++h) _mm256_store_si256(reinterpret_cast<__m256i*>(sc + 8 * h), sv[h]);
      for (int j = 0; j < 8; ++j) {
        uint8_t* dst = codes.data() + ((static_cast<size_t>(sb) * 8 + j) * 2 * 16 + i) * 32;
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), fold::mul_bytes(cv[j], sc[2 * j] & 7));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 16 * 32), fold::mul_bytes(cv[j], sc[2 * j] >> 3));
      }
    });
    for (int g = 0; g < groups; g += 2) {
      const bool two = g + 1 < groups;
      const GgmlPanelBlock* pan[2] = {ggml_panel(a, g), ggml_panel(a, two ? g + 1 : g)};
      alignas(64) float acc[2][16][16] = {};
      alignas(64) int32_t c[2][4 * 256];  // per super-block parity: its four C tiles
      // Super-block sb's blocks are issued, then sb - 1's sums used while the tile unit works.
      auto finish = [&](int sb) {
        const int32_t* cs = c[sb % 2];
        for (int t = 0; t < (two ? 2 : 1); ++t) {
          __m512i sp[8];
          sum_pairs(pan[t], sb, sp);
          const __m512 dy = _mm512_loadu_ps(pan[t][sb * 8].d);
          for (int r = 0; r < 16; ++r) {
            const __m512i tot = _mm512_add_epi32(
                _mm512_load_si512(cs + (2 * t) * 256 + r * 16),
                _mm512_maskz_slli_epi32(static_cast<__mmask16>(0xFFFF), _mm512_load_si512(cs + (2 * t + 1) * 256 + r * 16), 3));
            const __m512i summ = offset_sum(sp, kr.pairs(sb, r));
            _mm512_store_ps(acc[t][r], _mm512_add_ps(_mm512_load_ps(acc[t][r]),
                                                     k_term_ps<K>(tot, summ, kr.dx[sb * 16 + r], kr.dm[sb * 16 + r], dy)));
          }
        }
      };
      for (int sb = 0; sb < nsb; ++sb) {
        fold::zero();
        for (int j = 0; j < 8; ++j) {
          const uint8_t* lo = codes.data() + (static_cast<size_t>(sb) * 8 + j) * 2 * 16 * 32;
          fold::block(lo, lo + 16 * 32, pan[0][sb * 8 + j].q, pan[1][sb * 8 + j].q);
        }
        fold::store(c[sb % 2]);
        if (sb > 0) finish(sb - 1);
      }
      finish(nsb - 1);
      store_rows(acc[0], a, g, r0, rows, y, ldy);
      if (two) store_rows(acc[1], a, g + 1, r0, rows, y, ldy);
    }
  }
}

template <detail::KType K>
void prefill_k(const uint8_t* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  if constexpr (K == detail::KType::Q4_K || K == detail::KType::Q5_K)
    if (amx()) return prefill_k_amx_fold<K>(w, row_bytes, a, m0, m1, y, ldy);
  if (amx()) return prefill_k_amx<K>(w, row_bytes, a, m0, m1, y, ldy);
  walk_tiles<2, 3>(a, m0, m1, [&]<int T, int R>(int g0, int64_t r) { tile_k<K, T, R>(w, row_bytes, a, g0, r, y, ldy); });
}

bool prefill_any(uint32_t type, const void* wv, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y,
                 int64_t ldy) {
  if (a.panel.empty()) return false;
  const auto* w = static_cast<const uint8_t*>(wv);
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::Q8_0: prefill_legacy<detail::Legacy::Q8_0>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q4_0: prefill_legacy<detail::Legacy::Q4_0>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q4_1: prefill_legacy<detail::Legacy::Q4_1>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q5_0: prefill_legacy<detail::Legacy::Q5_0>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q5_1: prefill_legacy<detail::Legacy::Q5_1>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::IQ4_NL: prefill_legacy<detail::Legacy::IQ4_NL>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q2_K: prefill_k<detail::KType::Q2_K>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q3_K: prefill_k<detail::KType::Q3_K>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q4_K: prefill_k<detail::KType::Q4_K>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q5_K: prefill_k<detail::KType::Q5_K>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q6_K: prefill_k<detail::KType::Q6_K>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::IQ4_XS: prefill_k<detail::KType::IQ4_XS>(w, row_bytes, a, m0, m1, y, ldy); return true;
    default: return false;
  }
}

}  // namespace avx512_ggml

void ggml_quantize_token_avx512(GgmlActKind kind, const float* x, int64_t k, int8_t* q, float* d, float* s, int32_t* bsum) {
  avx512_ggml::detail::quantize_token(kind, x, k, q, d, s, bsum);
}

bool ggml_matmul_q_avx512(uint32_t type, const void* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y,
                          int64_t ldy) {
  if (avx512_ggml::prefill_any(type, w, row_bytes, a, m0, m1, y, ldy)) return true;
  return avx512_ggml::detail::rows_any<avx512_ggml::V>(type, w, row_bytes, a, m0, m1, y, ldy);
}

}  // namespace cpplm::cpu
