// SIMD kernel bodies written once over a vector-traits struct `S` (W float lanes); each
// kernels_<isa>.cpp defines S in its own namespace and includes this file there.
// No include guard on purpose: included once per instruction set, inside that set's namespace;
// the including file includes <algorithm>, <array>, <cstring>, <vector>, kernels.h, ref_kernels.h, core/error.h
// and core/thread_pool.h first.

using V = S::V;
constexpr int W = S::W;

// ---------- float weights: one SIMD vector of W weights of row `row` at column c ----------
template <DType T>
inline V load_w(const void* w, int64_t off) {
  if constexpr (T == DType::F32) return S::load(static_cast<const float*>(w) + off);
  else if constexpr (T == DType::BF16) return S::bf16(static_cast<const uint16_t*>(w) + off);
  else return S::f16(static_cast<const uint16_t*>(w) + off);
}
template <DType T>
inline V load_w_n(const void* w, int64_t off, int n) {  // first n lanes, zeros after
  if constexpr (T == DType::F32) return S::load_n(static_cast<const float*>(w) + off, n);
  else {
    uint16_t tmp[W] = {};
    std::memcpy(tmp, static_cast<const uint16_t*>(w) + off, n * sizeof(uint16_t));
    return T == DType::BF16 ? S::bf16(tmp) : S::f16(tmp);
  }
}

// Decode path, float weights: NR rows × NT tokens of dot products; each weight loaded once.
template <DType T, int NR, int NT>
void rows_float(const MatRef& w, const float* x, int64_t r0, float* y, int64_t ldy) {
  const int64_t k = w.k;
  V acc[NR][NT];
  for (int r = 0; r < NR; ++r)
    for (int t = 0; t < NT; ++t) acc[r][t] = S::zero();
  int64_t c = 0;
  for (; c + W <= k; c += W) {
    V xv[NT];
    for (int t = 0; t < NT; ++t) xv[t] = S::load(x + t * k + c);
    for (int r = 0; r < NR; ++r) {
      if ((c & (64 / static_cast<int>(sizeof(float)) - 1)) == 0)  // once per 64 weights: a line or two ahead
        __builtin_prefetch(static_cast<const char*>(w.w) + ((r0 + r + 2 * NR) * k + c) * (T == DType::F32 ? 4 : 2));
      const V wv = load_w<T>(w.w, (r0 + r) * k + c);
      for (int t = 0; t < NT; ++t) acc[r][t] = S::fma(wv, xv[t], acc[r][t]);
    }
  }
  if (c < k) {
    const int rem = static_cast<int>(k - c);
    V xv[NT];
    for (int t = 0; t < NT; ++t) xv[t] = S::load_n(x + t * k + c, rem);
    for (int r = 0; r < NR; ++r) {
      const V wv = load_w_n<T>(w.w, (r0 + r) * k + c, rem);
      for (int t = 0; t < NT; ++t) acc[r][t] = S::fma(wv, xv[t], acc[r][t]);
    }
  }
  for (int r = 0; r < NR; ++r)
    for (int t = 0; t < NT; ++t) y[t * ldy + r0 + r] = S::reduce(acc[r][t]);
}

template <DType T, int NT>
void matmul_float_small(const MatRef& w, const float* x, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  int64_t r = m0;
  for (; r + S::kNR <= m1; r += S::kNR) rows_float<T, S::kNR, NT>(w, x, r, y, ldy);
  for (; r < m1; ++r) rows_float<T, 1, NT>(w, x, r, y, ldy);
}

float dot(const float* a, const float* b, int64_t n);

// ---------- mlx affine 4/8-bit weights ----------
// Chunk of columns one step covers: W codes for 8 bits, 2W for 4 bits (even codes in the low
// nibbles, odd ones in the high nibbles, so activations are pre-permuted to [evens, odds]).
template <int BITS>
constexpr int kChunk = BITS == 4 ? 2 * W : W;

// x [n, k] -> the order the 4-bit kernel consumes: per chunk of 2W columns, evens then odds.
inline void permute_q4(const float* x, int n, int64_t k, float* out) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; c += 2 * W)
      for (int j = 0; j < W; ++j) {
        out[i * k + c + j] = x[i * k + c + 2 * j];
        out[i * k + c + W + j] = x[i * k + c + 2 * j + 1];
      }
}

// Σ_c W[r,c]·x[c] = Σ_g s_g·(Σ_{c∈g} q_c·x_c) + b_g·(Σ_{c∈g} x_c): codes are FMA'd with x in
// f32 (exact small integers), each group's partial sum is scaled once, and the bias term uses
// per-group sums of x (xsum [NT][groups]) computed once per call. Rows are prefetched two
// blocks ahead: short rows in parallel streams defeat the hardware prefetcher.
// n values of a float array of dtype t (F32/F16/BF16) from element off, as f32.
inline void floats_to_f32(const void* p, DType t, int64_t off, int64_t n, float* out) {
  int64_t i = 0;
  if (t == DType::BF16)
    for (; i + W <= n; i += W) S::store(out + i, load_w<DType::BF16>(p, off + i));
  if (t == DType::F16)
    for (; i + W <= n; i += W) S::store(out + i, load_w<DType::F16>(p, off + i));
  for (; i < n; ++i) out[i] = load_scalar(p, t, off + i);
}

// Σ_c W[r,c]·x[c] = Σ_g s_g·(Σ_{c∈g} q_c·x_c) + Σ_g b_g·(Σ_{c∈g} x_c): codes are FMA'd with x in
// f32 (exact small integers), each group's partial sum is scaled once, and the bias term is a
// dot product of the row's biases with per-group sums of x (xsum [NT][groups], once per call).
// Rows are prefetched two blocks ahead: short rows in parallel streams defeat the hardware prefetcher.
template <int BITS, int NR, int NT>
void rows_quant(const MatRef& w, const float* x, const float* xsum, int64_t r0, float* y, int64_t ldy) {
  const int64_t k = w.k, groups = k / w.group, row_bytes = k * BITS / 8;
  const uint8_t* q = static_cast<const uint8_t*>(w.w);
  thread_local std::vector<float> sb;
  sb.resize(static_cast<size_t>(2 * NR) * groups);
  float* sf = sb.data();                // [NR][groups] scales
  float* bf = sb.data() + NR * groups;  // [NR][groups] biases
  for (int r = 0; r < NR; ++r) {
    floats_to_f32(w.scales, w.sb_dtype, (r0 + r) * groups, groups, sf + r * groups);
    floats_to_f32(w.biases, w.sb_dtype, (r0 + r) * groups, groups, bf + r * groups);
  }
  V tot[NR][NT];
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) tot[r][t] = S::zero();
  for (int64_t g = 0; g < groups; ++g) {
    V acc[NR][NT];
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      __builtin_prefetch(q + (r0 + r + 2 * NR) * row_bytes + g * w.group * BITS / 8);
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) acc[r][t] = S::zero();
    }
    for (int64_t c = g * w.group; c < (g + 1) * w.group; c += kChunk<BITS>) {
      if constexpr (BITS == 8) {
        V xv[NT];
#pragma GCC unroll 4
        for (int t = 0; t < NT; ++t) xv[t] = S::load(x + t * k + c);
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) {
          const V qv = S::u8(q + (r0 + r) * row_bytes + c);
#pragma GCC unroll 4
          for (int t = 0; t < NT; ++t) acc[r][t] = S::fma(qv, xv[t], acc[r][t]);
        }
      } else {
        V xl[NT], xh[NT];
#pragma GCC unroll 4
        for (int t = 0; t < NT; ++t) {
          xl[t] = S::load(x + t * k + c);
          xh[t] = S::load(x + t * k + c + W);
        }
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) {
          V lo, hi;
          S::q4(q + (r0 + r) * row_bytes + c / 2, lo, hi);
#pragma GCC unroll 4
          for (int t = 0; t < NT; ++t) acc[r][t] = S::fma(hi, xh[t], S::fma(lo, xl[t], acc[r][t]));
        }
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      const V sv = S::set1(sf[r * groups + g]);
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) tot[r][t] = S::fma(acc[r][t], sv, tot[r][t]);
    }
  }
  for (int r = 0; r < NR; ++r)
    for (int t = 0; t < NT; ++t) y[t * ldy + r0 + r] = S::reduce(tot[r][t]) + dot(bf + r * groups, xsum + t * groups, groups);
}

template <int BITS>
void matmul_quant_small(const MatRef& w, const float* x, int n, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  const float* xs = x;
  const int64_t groups = w.k / w.group;
  thread_local std::vector<float> perm, xsum;
  if (BITS == 4) {
    perm.resize(static_cast<size_t>(n) * w.k);
    permute_q4(x, n, w.k, perm.data());
    xs = perm.data();
  }
  xsum.resize(static_cast<size_t>(n) * groups);
  for (int i = 0; i < n; ++i)
    for (int64_t g = 0; g < groups; ++g) {
      float sum = 0;
      for (int64_t c = g * w.group; c < (g + 1) * w.group; ++c) sum += x[i * w.k + c];
      xsum[i * groups + g] = sum;
    }
  for (int t0 = 0; t0 < n; t0 += 2) {
    const float* xt = xs + t0 * w.k;
    const float* st = xsum.data() + t0 * groups;
    float* yt = y + t0 * ldy;
    int64_t r = m0;
    if (n - t0 >= 2) {
      for (; r + S::kNR <= m1; r += S::kNR) rows_quant<BITS, S::kNR, 2>(w, xt, st, r, yt, ldy);
      for (; r < m1; ++r) rows_quant<BITS, 1, 2>(w, xt, st, r, yt, ldy);
    } else {
      for (; r + S::kNR <= m1; r += S::kNR) rows_quant<BITS, S::kNR, 1>(w, xt, st, r, yt, ldy);
      for (; r < m1; ++r) rows_quant<BITS, 1, 1>(w, xt, st, r, yt, ldy);
    }
  }
}

inline bool fast_quant(const MatRef& w) {
  return (w.bits == 8 && w.group % kChunk<8> == 0) || (w.bits == 4 && w.group % kChunk<4> == 0);
}

// ---------- dequantization to f32 (natural column order) ----------
void dequant(const MatRef& w, int64_t r, int64_t k0, int64_t cnt, float* out) {
  if (!w.quantized()) {
    int64_t c = 0;
    const int64_t base = r * w.k + k0;
    switch (w.dtype) {
      case DType::BF16:
        for (; c + W <= cnt; c += W) S::store(out + c, load_w<DType::BF16>(w.w, base + c));
        break;
      case DType::F16:
        for (; c + W <= cnt; c += W) S::store(out + c, load_w<DType::F16>(w.w, base + c));
        break;
      default: break;
    }
    dequant_ref(w, r, k0 + c, cnt - c, out + c);
    return;
  }
  const int ch = w.bits == 4 ? kChunk<4> : kChunk<8>;
  if (!fast_quant(w) || k0 % ch != 0) return dequant_ref(w, r, k0, cnt, out);
  const int64_t groups = w.k / w.group, row_bytes = w.k * w.bits / 8;
  const uint8_t* q = static_cast<const uint8_t*>(w.w) + r * row_bytes;
  int64_t c = 0;
  for (; c + ch <= cnt; c += ch) {
    const int64_t col = k0 + c, g = r * groups + col / w.group;
    const V s = S::set1(load_scalar(w.scales, w.sb_dtype, g)), b = S::set1(load_scalar(w.biases, w.sb_dtype, g));
    if (w.bits == 8) S::store(out + c, S::fma(S::u8(q + col), s, b));
    else S::q4_natural(q + col / 2, s, b, out + c);
  }
  if (c < cnt) dequant_ref(w, r, k0 + c, cnt - c, out + c);
}

// ---------- prefill path: tokens as SIMD lanes ----------
// Work mapping: a register tile of kRB weight rows × kNV·W tokens; activations are transposed
// into a [k][tokens] panel per block of kTB tokens, weights dequantized to f32 per kRB × kKC tile
// (once per token block), partial sums kept in a [rows][tokens] tile across k blocks.
constexpr int kRB = S::kRB, kNV = S::kNV, kTW = kNV * W;
constexpr int kTB = 256;      // tokens per block (multiple of kTW)
constexpr int kKC = 256;      // columns per k block
constexpr int64_t kMB = 256;  // rows per output tile
static_assert(kTB % kTW == 0);

// yt[r][j] (+)= Σ_c wt[r][c] · xt[c][j] for r < kRB, j < kTW.
inline void micro(const float* wt, const float* xt, int64_t ldx, int kc, float* yt, int64_t ldy, bool first) {
  V acc[kRB][kNV];
  for (int r = 0; r < kRB; ++r)
    for (int v = 0; v < kNV; ++v) acc[r][v] = first ? S::zero() : S::load(yt + r * ldy + v * W);
  for (int c = 0; c < kc; ++c) {
    V xv[kNV];
    for (int v = 0; v < kNV; ++v) xv[v] = S::load(xt + c * ldx + v * W);
#pragma GCC unroll 16
    for (int r = 0; r < kRB; ++r) {
      const V b = S::set1(wt[r * kKC + c]);
      for (int v = 0; v < kNV; ++v) acc[r][v] = S::fma(b, xv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < kRB; ++r)
    for (int v = 0; v < kNV; ++v) S::store(yt + r * ldy + v * W, acc[r][v]);
}

void matmul_packed(const MatRef& w, const float* x, int n, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  const int64_t k = w.k;
  thread_local std::vector<float> xt, wt, yt;
  xt.resize(static_cast<size_t>(k) * kTB);
  wt.resize(static_cast<size_t>(kRB) * kKC);
  yt.resize(static_cast<size_t>(kMB + kRB) * kTB);
  for (int t0 = 0; t0 < n; t0 += kTB) {
    const int tb = std::min(kTB, n - t0), tbp = (tb + kTW - 1) / kTW * kTW;
    // Transpose in strips of 16 columns so the written cache lines stay in L1 across tokens.
    for (int64_t c0 = 0; c0 < k; c0 += 16) {
      const int64_t ce = std::min<int64_t>(k, c0 + 16);
      for (int j = 0; j < tbp; ++j) {
        const float* xr = x + static_cast<int64_t>(t0 + j) * k;
        for (int64_t c = c0; c < ce; ++c) xt[c * tbp + j] = j < tb ? xr[c] : 0.0f;
      }
    }
    for (int64_t mb = m0; mb < m1; mb += kMB) {
      const int64_t me = std::min(m1, mb + kMB);
      for (int64_t k0 = 0; k0 < k; k0 += kKC) {
        const int kc = static_cast<int>(std::min<int64_t>(kKC, k - k0));
        for (int64_t r = mb; r < me; r += kRB) {
          const int rb = static_cast<int>(std::min<int64_t>(kRB, me - r));
          // The next row block's slice of W: rows are far apart, so the prefetcher would not guess it.
          for (int64_t i = r + kRB; i < std::min(me, r + 2 * kRB); ++i) {
            const char* p =
                static_cast<const char*>(w.w) +
                (w.quantized() ? (i * w.k + k0) * w.bits / 8 : (i * w.k + k0) * static_cast<int64_t>(dtype_size(w.dtype)));
            const int64_t bytes = w.quantized() ? kc * w.bits / 8 : kc * static_cast<int64_t>(dtype_size(w.dtype));
            for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o);
          }
          for (int i = 0; i < kRB; ++i) {
            if (i < rb) dequant(w, r + i, k0, kc, wt.data() + i * kKC);
            else std::fill_n(wt.data() + i * kKC, kc, 0.0f);
          }
          for (int j0 = 0; j0 < tbp; j0 += kTW)
            micro(wt.data(), xt.data() + k0 * tbp + j0, tbp, kc, yt.data() + (r - mb) * kTB + j0, kTB, k0 == 0);
        }
      }
      for (int j = 0; j < tb; ++j) {
        float* yr = y + static_cast<int64_t>(t0 + j) * ldy;
        for (int64_t r = mb; r < me; ++r) yr[r] = yt[(r - mb) * kTB + j];
      }
    }
  }
}

#if defined(__AVX512BF16__)
#include "backends/cpu/simd_bf16_impl.h"
#endif
#include "backends/cpu/simd_int8_impl.h"
// (after simd_int8_impl.h: it uses quantize_act)
#include "backends/cpu/simd_int8_decode_impl.h"

// ---------- entry points ----------
constexpr int kPackMinTokens = 16;  // below this, stream weights row by row (decode, small batches)
static_assert(kPackMinTokens == kInt8MinTokens);

void matmul(const MatRef& w, const float* x, int n, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  if (m1 <= m0 || n <= 0) return;
  if (int8_prefill(w, n)) return w.bits == 8 ? matmul_int8<8>(w, x, n, m0, m1, y, ldy) : matmul_int8<4>(w, x, n, m0, m1, y, ldy);
  if (int8_decode(w, n)) return matmul_int8_small(w, x, n, m0, m1, y, ldy);
  if (n >= kPackMinTokens) {
#if defined(__AVX512BF16__)
    if (w.dtype == DType::BF16 && !w.quantized() && !w.exact && w.k % 2 == 0 && bf16_dot())
      return matmul_packed_bf16(w, x, n, m0, m1, y, ldy);
#endif
    return matmul_packed(w, x, n, m0, m1, y, ldy);
  }
  if (w.quantized()) {
    if (!fast_quant(w)) return matmul_ref(w, x, n, m0, m1, y, ldy);
    return w.bits == 8 ? matmul_quant_small<8>(w, x, n, m0, m1, y, ldy) : matmul_quant_small<4>(w, x, n, m0, m1, y, ldy);
  }
  for (int t0 = 0; t0 < n; t0 += 4) {
    const float* xt = x + static_cast<int64_t>(t0) * w.k;
    float* yt = y + t0 * ldy;
    const int nt = std::min(4, n - t0);
    auto run = [&]<DType T>() {
      switch (nt) {
        case 1: return matmul_float_small<T, 1>(w, xt, m0, m1, yt, ldy);
        case 2: return matmul_float_small<T, 2>(w, xt, m0, m1, yt, ldy);
        case 3: return matmul_float_small<T, 3>(w, xt, m0, m1, yt, ldy);
        default: return matmul_float_small<T, 4>(w, xt, m0, m1, yt, ldy);
      }
    };
    switch (w.dtype) {
      case DType::F32: run.template operator()<DType::F32>(); break;
      case DType::BF16: run.template operator()<DType::BF16>(); break;
      case DType::F16: run.template operator()<DType::F16>(); break;
      default: return matmul_ref(w, x, n, m0, m1, y, ldy);
    }
  }
}

float dot(const float* a, const float* b, int64_t n) {
  V s0 = S::zero(), s1 = S::zero();
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 = S::fma(S::load(a + i), S::load(b + i), s0);
    s1 = S::fma(S::load(a + i + W), S::load(b + i + W), s1);
  }
  for (; i < n; i += W) {
    const int c = static_cast<int>(std::min<int64_t>(W, n - i));
    s0 = S::fma(S::load_n(a + i, c), S::load_n(b + i, c), s0);
  }
  return S::reduce(S::add(s0, s1));
}

void axpy(float a, const float* x, float* y, int64_t n) {
  const V av = S::set1(a);
  int64_t i = 0;
  for (; i + W <= n; i += W) S::store(y + i, S::fma(av, S::load(x + i), S::load(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

void scale(float* y, float a, int64_t n) {
  const V av = S::set1(a);
  int64_t i = 0;
  for (; i + W <= n; i += W) S::store(y + i, S::mul(av, S::load(y + i)));
  for (; i < n; ++i) y[i] *= a;
}

void dots(const float* q, const float* const* rows, int cnt, int d, float scale, float* out) {
  for (int j = 0; j < cnt; ++j) out[j] = dot(q, rows[j], d) * scale;
}

// exp(x) for x <= 0 as 2^k·p(r): k = round(x·log2 e), r = x − k·ln 2 (ln 2 in two parts, |r| <= 0.35),
// p the degree-6 Taylor polynomial (relative error < 2e-7 before rounding); x < -87 gives 0.
inline V exp_nonpos(V x) {
  const V lo = S::set1(-87.0f), xc = S::max(x, lo);
  const V k = S::round(S::mul(xc, S::set1(1.44269504f)));
  V r = S::fma(k, S::set1(-0.693359375f), xc);
  r = S::fma(k, S::set1(2.12194440e-4f), r);
  V p = S::set1(1.0f / 720);
  for (float c : {1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f}) p = S::fma(p, r, S::set1(c));
  return S::zero_below(S::scale2(p, k), x, lo);
}

float exp_sum(float* s, int n, float m) {
  const V vm = S::set1(-m);
  V sum = S::zero();
  int j = 0;
  for (; j + W <= n; j += W) {
    const V e = exp_nonpos(S::add(S::load(s + j), vm));
    S::store(s + j, e);
    sum = S::add(sum, e);
  }
  float total = S::reduce(sum);
  if (j < n) {  // tail through a full vector (unused lanes: exp(-inf) = 0)
    float t[W];
    for (int i = 0; i < W; ++i) t[i] = j + i < n ? s[j + i] - m : -INFINITY;
    S::store(t, exp_nonpos(S::load(t)));
    for (int i = 0; j + i < n; ++i) total += (s[j + i] = t[i]);
  }
  return total;
}

// silu(g)·u with σ(g) from e = exp(−|g|): 1 / (1 + e) for g >= 0, e / (1 + e) below (no overflow
// either way; a NaN stays NaN).
inline V silu_mul_v(V g, V u) {
  const V one = S::set1(1.0f), e = exp_nonpos(S::mul(S::abs(g), S::set1(-1.0f)));
  return S::mul(S::div(S::mul(g, S::select_neg(g, e, one)), S::add(one, e)), u);
}

void silu_mul(const float* gate, const float* up, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + W <= n; i += W) S::store(out + i, silu_mul_v(S::load(gate + i), S::load(up + i)));
  if (i < n) {
    float t[W];
    S::store(t, silu_mul_v(S::load_n(gate + i, static_cast<int>(n - i)), S::load_n(up + i, static_cast<int>(n - i))));
    for (int j = 0; i + j < n; ++j) out[i + j] = t[j];
  }
}

void axpys(const float* w, const float* const* rows, int cnt, int d, float* acc) {
  int e = 0;
  for (; e + 2 * W <= d; e += 2 * W) {  // acc chunk stays in registers across the tile
    V a0 = S::load(acc + e), a1 = S::load(acc + e + W);
    for (int j = 0; j < cnt; ++j) {
      const V wj = S::set1(w[j]);
      a0 = S::fma(wj, S::load(rows[j] + e), a0);
      a1 = S::fma(wj, S::load(rows[j] + e + W), a1);
    }
    S::store(acc + e, a0);
    S::store(acc + e + W, a1);
  }
  for (; e < d; e += W) {
    const int c = std::min(W, d - e);
    V a = S::load_n(acc + e, c);
    for (int j = 0; j < cnt; ++j) a = S::fma(S::set1(w[j]), S::load_n(rows[j] + e, c), a);
    alignas(64) float tmp[W];
    S::store(tmp, a);
    std::memcpy(acc + e, tmp, c * sizeof(float));
  }
}
