// Prefill with 4/8-bit weights on int8 activations (kernels.h int8_prefill), written once over the
// vector-traits struct S; included by simd_kernels_impl.h inside each ISA's namespace.
// No include guard on purpose (see simd_kernels_impl.h). S adds an integer vector I of W int32
// lanes and dp<BITS>(acc, u, s): acc[i] += Σ_{j<4} u8 u[4i+j] · s8 s[4i+j] (vpdpbusd or emulated).

// One token's activations as int8, bit-identical to quantize_act_ref (same expressions).
inline void quantize_act(const float* x, int64_t k, int ab, int group, int8_t* q, float* d, float* xs) {
  for (int64_t b0 = 0; b0 < k; b0 += ab) {
    V mx = S::zero();
    for (int c = 0; c < ab; c += W) mx = S::max(mx, S::abs(S::load(x + b0 + c)));
    const float amax = S::reduce_max(mx);
    const V id = S::set1(amax > 0 ? 127.0f / amax : 0.0f);
    d[b0 / ab] = amax / 127.0f;
    for (int c = 0; c < ab; c += W) S::to_i8(S::mul(S::load(x + b0 + c), id), q + b0 + c);
  }
  for (int64_t g = 0; g < k / group; ++g) {
    V s = S::zero();
    for (int c = 0; c < group; c += W) s = S::add(s, S::load(x + g * group + c));
    xs[g] = S::reduce(s);
  }
}

// kc codes of one row from packed storage into bytes in column order (kc a multiple of 32), each
// 32 columns `step` bytes after the previous 32 (32: contiguous).
template <int BITS>
inline void unpack_codes(const uint8_t* p, int kc, uint8_t* out, int step = 32) {
  if constexpr (BITS == 8) {
    for (int c = 0; c < kc; c += 32) std::memcpy(out + c / 32 * step, p + c, 32);
  } else {
    const __m128i lo4 = _mm_set1_epi8(15);
    for (int c = 0; c < kc; c += 32) {  // byte i holds code 2i (low nibble) and 2i+1 (high nibble)
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + c / 2));
      const __m128i lo = _mm_and_si128(b, lo4), hi = _mm_and_si128(_mm_srli_epi16(b, 4), lo4);
      uint8_t* o = out + c / 32 * step;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o), _mm_unpacklo_epi8(lo, hi));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 16), _mm_unpackhi_epi8(lo, hi));
    }
  }
}

// Work mapping: a register tile of kQR weight rows × kQV·W tokens. Activations of a token block
// are quantized once per call into a panel of int32 quads [k/4][tokens] (4 consecutive columns of
// one token per lane), scales d [k/32][tokens] and group sums [groups][tokens]; weights are
// unpacked to code bytes per kQR × kKC8 tile (reused by every token of the block) and each code
// quad is broadcast to all lanes. Integer sums stay in registers for one activation block of 32
// columns, then s·d·Σ (and b·Σx at a group's end) go into an f32 tile kept in L1.
constexpr int kQR = S::kQR, kQV = S::kQV, kQT = kQV * W;
constexpr int kKC8 = 512;       // columns per k block
constexpr int kAB = kActBlock;  // activation block (columns per int8 scale)
static_assert(kTB % kQT == 0);

// yt[r][j] (+)= Σ over columns [0, kc) for r < kQR, j < kQT. wt codes [kQR][kKC8]; sc [kQR][kc/32]
// weight scale per block; bi [kQR][kc/G] biases; xq/xd/xs point at this k block and token tile in
// panels of row stride ld.
template <int BITS, int G>
void micro_int8(const uint8_t* wt, const float* sc, const float* bi, const int32_t* xq, const float* xd, const float* xs,
                int64_t ld, int kc, float* yt, int64_t ldy, bool first) {
  const int nb = kc / kAB, ng = kc / G;
  for (int b = 0; b < nb; ++b) {
    typename S::I acc[kQR][kQV];
    for (int r = 0; r < kQR; ++r)
      for (int v = 0; v < kQV; ++v) acc[r][v] = S::izero();
    const int32_t* xb = xq + b * (kAB / 4) * ld;
    const uint8_t* wb = wt + b * kAB;
#pragma GCC unroll 8
    for (int qd = 0; qd < kAB / 4; ++qd) {
      typename S::I xv[kQV];
      for (int v = 0; v < kQV; ++v) xv[v] = S::iload(xb + qd * ld + v * W);
#pragma GCC unroll 16
      for (int r = 0; r < kQR; ++r) {
        const typename S::I wr = S::bcast32(wb + r * kKC8 + 4 * qd);
        for (int v = 0; v < kQV; ++v) acc[r][v] = S::template dp<BITS>(acc[r][v], wr, xv[v]);
      }
    }
    V dv[kQV];
    for (int v = 0; v < kQV; ++v) dv[v] = S::load(xd + b * ld + v * W);
    const bool init = first && b == 0, group_end = (b + 1) % (G / kAB) == 0;
    if (group_end) {
      const int g = b / (G / kAB);
      V sv[kQV];
      for (int v = 0; v < kQV; ++v) sv[v] = S::load(xs + g * ld + v * W);
#pragma GCC unroll 16
      for (int r = 0; r < kQR; ++r) {
        const V sr = S::set1(sc[r * nb + b]), br = S::set1(bi[r * ng + g]);
        for (int v = 0; v < kQV; ++v) {
          float* p = yt + r * ldy + v * W;
          const V t = S::fma(br, sv[v], init ? S::zero() : S::load(p));
          S::store(p, S::fma(S::cvt(acc[r][v]), S::mul(sr, dv[v]), t));
        }
      }
    } else {
#pragma GCC unroll 16
      for (int r = 0; r < kQR; ++r) {
        const V sr = S::set1(sc[r * nb + b]);
        for (int v = 0; v < kQV; ++v) {
          float* p = yt + r * ldy + v * W;
          S::store(p, S::fma(S::cvt(acc[r][v]), S::mul(sr, dv[v]), init ? S::zero() : S::load(p)));
        }
      }
    }
  }
}

#if defined(__AMX_INT8__)
#include "backends/cpu/simd_int8_amx_impl.h"
#endif

// The prefill's activations, quantized once per product (kernels.h Int8Acts::panel): per block of kTB tokens
// (tbp of them, padded to whole tiles of QT), int32 quads [k/4][tbp] (AMX: [tbp/16][k/4][16], so that a tile
// row is one line), block scales [k/32][tbp] and group sums [groups][tbp], padding tokens zero; block i at
// i·kTB·(k/4), i·kTB·(k/32) and i·kTB·groups. Tiles of QT tokens in parallel where the pool is free.
template <int G, bool kAmx>
void prepare_prefill_g(const float* x, int n, int64_t k, Int8Acts& a) {
  constexpr int QT = kAmx ? 16 : kQT;
  const int64_t groups = k / G, blocks = k / kAB;
  const int nblk = (n + kTB - 1) / kTB;
  a.x = x, a.n = n, a.group = G, a.amx = kAmx;
  a.panel.resize(static_cast<size_t>(nblk) * kTB * (k / 4));
  a.d.resize(static_cast<size_t>(nblk) * kTB * blocks);
  a.xs.resize(static_cast<size_t>(nblk) * kTB * groups);
  const int64_t tiles = static_cast<int64_t>(nblk) * (kTB / QT);
  parallel_for(tiles, 1, [&](int64_t i0, int64_t i1) {
    thread_local std::vector<int8_t> qrows;
    thread_local std::vector<float> drows, srows;
    qrows.resize(static_cast<size_t>(QT) * k);
    drows.resize(static_cast<size_t>(QT) * blocks);
    srows.resize(static_cast<size_t>(QT) * groups);
    for (int64_t i = i0; i < i1; ++i) {
      const int blk = static_cast<int>(i / (kTB / QT)), t0 = blk * kTB, j0 = static_cast<int>(i % (kTB / QT)) * QT;
      const int tb = std::min(kTB, n - t0), tbp = (tb + QT - 1) / QT * QT;
      if (j0 >= tbp) continue;
      int32_t* xq = a.panel.data() + static_cast<size_t>(blk) * kTB * (k / 4);
      float *xd = a.d.data() + static_cast<size_t>(blk) * kTB * blocks,
            *xs = a.xs.data() + static_cast<size_t>(blk) * kTB * groups;
      for (int j = 0; j < QT; ++j) {
        if (j0 + j < tb) {
          quantize_act(x + static_cast<int64_t>(t0 + j0 + j) * k, k, kAB, G, qrows.data() + j * k, drows.data() + j * blocks,
                       srows.data() + j * groups);
        } else {  // padding tokens: zero codes, scales and sums
          std::fill_n(qrows.data() + j * k, k, int8_t{0});
          std::fill_n(drows.data() + j * blocks, blocks, 0.0f);
          std::fill_n(srows.data() + j * groups, groups, 0.0f);
        }
      }
      // Token-major rows to the panel, in strips of 16 quads so written lines stay in L1.
      for (int64_t q0 = 0; q0 < k / 4; q0 += 16) {
        const int64_t qe = std::min<int64_t>(k / 4, q0 + 16);
        for (int j = 0; j < QT; ++j) {
          const int8_t* src = qrows.data() + static_cast<int64_t>(j) * k;
          const int jj = j0 + j;
          for (int64_t q = q0; q < qe; ++q)
            std::memcpy(&xq[kAmx ? (jj / 16 * (k / 4) + q) * 16 + jj % 16 : q * tbp + jj], src + 4 * q, 4);
        }
      }
      for (int j = 0; j < QT; ++j) {
        for (int64_t b = 0; b < blocks; ++b) xd[b * tbp + j0 + j] = drows[j * blocks + b];
        for (int64_t g = 0; g < groups; ++g) xs[g * tbp + j0 + j] = srows[j * groups + g];
      }
    }
  });
}

// kAmx: the tile's integer products on AMX (micro_int8_amx: 16 rows × 16 tokens), else on vectors. The
// activations from prepare_prefill_g<G, kAmx>.
template <int BITS, int G, bool kAmx>
void matmul_int8_g(const MatRef& w, const Int8Acts& a, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  static_assert(G % kAB == 0 && kKC8 % G == 0);
  constexpr int QR = kAmx ? 16 : kQR, QT = kAmx ? 16 : kQT;  // the tile's rows and tokens
  const int64_t k = w.k, groups = k / G, blocks = k / kAB, row_bytes = k * BITS / 8;
  const int n = a.n;
  const uint8_t* codes = static_cast<const uint8_t*>(w.w);
  thread_local std::vector<float> yt, sc, bi;
  thread_local std::vector<uint8_t> wt;
  yt.resize(static_cast<size_t>(kMB + QR) * kTB);
  wt.resize(static_cast<size_t>(QR) * kKC8);
  sc.resize(static_cast<size_t>(QR) * (kKC8 / kAB));
  bi.resize(static_cast<size_t>(QR) * (kKC8 / G));
  for (int t0 = 0; t0 < n; t0 += kTB) {
    const int tb = std::min(kTB, n - t0), tbp = (tb + QT - 1) / QT * QT;
    const int32_t* xq = a.panel.data() + static_cast<size_t>(t0) * (k / 4);
    const float *xd = a.d.data() + static_cast<size_t>(t0) * blocks, *xs = a.xs.data() + static_cast<size_t>(t0) * groups;
    for (int64_t mb = m0; mb < m1; mb += kMB) {
      const int64_t me = std::min(m1, mb + kMB);
      for (int64_t k0 = 0; k0 < k; k0 += kKC8) {
        const int kc = static_cast<int>(std::min<int64_t>(kKC8, k - k0)), nb = kc / kAB, ng = kc / G;
        for (int64_t r = mb; r < me; r += QR) {
          const int rb = static_cast<int>(std::min<int64_t>(QR, me - r));
          for (int64_t i = r + QR; i < std::min(me, r + 2 * QR); ++i) {  // next tile's rows: far apart, not guessed
            const char* p = reinterpret_cast<const char*>(codes) + i * row_bytes + k0 * BITS / 8;
            for (int64_t o = 0; o < kc * BITS / 8; o += 64) __builtin_prefetch(p + o);
          }
          for (int i = 0; i < QR; ++i) {
            if (i < rb) {
              // (AMX: each block's 16 rows × 32 codes contiguous, so an A tile is 8 lines)
              if constexpr (kAmx) unpack_codes<BITS>(codes + (r + i) * row_bytes + k0 * BITS / 8, kc, wt.data() + i * kAB, 16 * kAB);
              else unpack_codes<BITS>(codes + (r + i) * row_bytes + k0 * BITS / 8, kc, wt.data() + i * kKC8);
              float* s = sc.data() + i * nb;
              floats_to_f32(w.scales, w.sb_dtype, (r + i) * groups + k0 / G, ng, s);
              for (int b = nb - 1; b >= 0; --b) s[b] = s[b / (G / kAB)];  // one scale per block (in place, backwards)
              floats_to_f32(w.biases, w.sb_dtype, (r + i) * groups + k0 / G, ng, bi.data() + i * ng);
            } else {
              if constexpr (kAmx)
                for (int b = 0; b < nb; ++b) std::fill_n(wt.data() + (b * 16 + i) * kAB, kAB, uint8_t{0});
              else std::fill_n(wt.data() + i * kKC8, kc, uint8_t{0});
              std::fill_n(sc.data() + i * nb, nb, 0.0f);
              std::fill_n(bi.data() + i * ng, ng, 0.0f);
            }
          }
          for (int j0 = 0; j0 < tbp; j0 += QT) {
            const int32_t* q = xq + (kAmx ? j0 * (k / 4) + k0 / 4 * 16 : k0 / 4 * tbp + j0);
            const float *d = xd + k0 / kAB * tbp + j0, *sum = xs + k0 / G * tbp + j0;
            float* out = yt.data() + (r - mb) * kTB + j0;
#if defined(__AMX_INT8__)
            if constexpr (kAmx) {
              micro_int8_amx<G>(wt.data(), sc.data(), bi.data(), q, 16, d, sum, tbp, kc, out, kTB, k0 == 0);
              continue;
            }
#endif
            micro_int8<BITS, G>(wt.data(), sc.data(), bi.data(), q, d, sum, tbp, kc, out, kTB, k0 == 0);
          }
        }
      }
      // yt [rows][tokens] to y [tokens][rows]: W × W blocks transposed in registers, edges one by one.
      for (int64_t r0 = mb; r0 < me; r0 += W) {
        int j0 = 0;
        if (r0 + W <= me)
          for (; j0 + W <= tb; j0 += W) {
            V v[W];
            for (int i = 0; i < W; ++i) v[i] = S::load(yt.data() + (r0 - mb + i) * kTB + j0);
            S::transpose(v);
            for (int i = 0; i < W; ++i) S::store(y + static_cast<int64_t>(t0 + j0 + i) * ldy + r0, v[i]);
          }
        for (int j = j0; j < tb; ++j)
          for (int64_t r = r0; r < std::min(me, r0 + W); ++r) y[static_cast<int64_t>(t0 + j) * ldy + r] = yt[(r - mb) * kTB + j];
      }
    }
  }
}

template <bool kAmx>
void prepare_prefill_on(const MatRef& w, const float* x, int n, Int8Acts& a) {
  switch (w.group) {
    case 32: return prepare_prefill_g<32, kAmx>(x, n, w.k, a);
    case 64: return prepare_prefill_g<64, kAmx>(x, n, w.k, a);
    default: return prepare_prefill_g<128, kAmx>(x, n, w.k, a);
  }
}

template <int BITS, bool kAmx>
void matmul_int8_on(const MatRef& w, const Int8Acts& a, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  switch (w.group) {
    case 32: return matmul_int8_g<BITS, 32, kAmx>(w, a, m0, m1, y, ldy);
    case 64: return matmul_int8_g<BITS, 64, kAmx>(w, a, m0, m1, y, ldy);
    default: return matmul_int8_g<BITS, 128, kAmx>(w, a, m0, m1, y, ldy);
  }
}

// The prefill in two steps, as the decode (simd_int8_decode_impl.h): the activations prepared once per product,
// then any thread's row range. The panel's layout follows amx() when it is prepared; the product checks it.
void prepare_prefill(const MatRef& w, const float* x, int n, Int8Acts& a) {
#if defined(__AMX_INT8__)
  if (amx()) return prepare_prefill_on<true>(w, x, n, a);
#endif
  prepare_prefill_on<false>(w, x, n, a);
}

template <int BITS>
void matmul_int8_panel(const MatRef& w, const Int8Acts& a, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  CPPLM_CHECK(a.group == w.group, "int8 prefill: activations prepared for another group size");
#if defined(__AMX_INT8__)
  if (a.amx) {
    const amx_int8::Tiles tiles;  // this thread's tile configuration, released at scope exit
    return matmul_int8_on<BITS, true>(w, a, m0, m1, y, ldy);
  }
#endif
  CPPLM_CHECK(!a.amx, "int8 prefill: activations prepared for AMX tiles on a build without them");
  matmul_int8_on<BITS, false>(w, a, m0, m1, y, ldy);
}

// Both steps on one thread (Kernels::matmul).
template <int BITS>
void matmul_int8(const MatRef& w, const float* x, int n, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  thread_local Int8Acts a;
  prepare_prefill(w, x, n, a);
  matmul_int8_panel<BITS>(w, a, m0, m1, y, ldy);
}
