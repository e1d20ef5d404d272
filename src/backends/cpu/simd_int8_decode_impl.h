// Decode with 4/8-bit weights on int8 activations (kernels.h int8_decode), written once over the
// vector-traits struct S; included by simd_kernels_impl.h inside each ISA's namespace, after
// simd_int8_impl.h (quantize_act). No include guard on purpose (see simd_kernels_impl.h).
//
// Weights are streamed once per call, S::kDR rows per step (S::kDRT when n > 1; a step's rows stay
// in L1 while each tile of up to S::kDT tokens runs over them), straight from packed storage (the
// next step's rows prefetched): one integer vector I holds 4W code bytes, a chunk of kCW columns.
// Lane l of a dot product (vpdpbusd / maddubs: 4 bytes per int32 lane) covers kCPL consecutive
// columns, so each lane stays inside one activation block of 32:
//  - 8 bits: bytes are codes in column order; the activations are used in column order.
//  - 4 bits: byte i holds the codes of columns 2i (low nibble) and 2i+1 (high nibble), so the
//    activations of each chunk are stored once per call as [even columns | odd columns] and
//    `and`/`srli` of the packed bytes feed the dot products directly (lane l: columns 8l .. 8l+7).
// After each chunk the int32 lanes become f32 and are FMA'd with a per-lane (s·d): the weight scales
// of W groups sit in one register per row and are permuted to lanes (group = column >> log2 G), the
// activation scales are stored lane-expanded per call. The bias term is a per-row dot product of
// the group biases with the activations' exact group sums. Per token, the arithmetic does not depend
// on n, the tile, the rows stepped together or the row range: results are batch invariant.

template <int BITS>
constexpr int kCPL = BITS == 4 ? 8 : 4;  // columns per int32 lane
template <int BITS>
constexpr int kCW = kCPL<BITS>* W;  // columns per chunk (one vector of 4W code bytes)

// A tile's view of the prepared activations (kernels.h Int8Acts), per token (row stride in
// elements): codes in the order the kernel reads (kp = k rounded up to a chunk, zero padded),
// lane-expanded block scales, group sums (padded to W).
struct DecodeActs {
  const int8_t* q;
  const float* d;
  const float* xs;
  int64_t ldq, ldd, ldxs;
};

template <int BITS>
void prepare_decode(const float* x, int n, int64_t k, int group, Int8Acts& a) {
  constexpr int cw = kCW<BITS>, cpl = kCPL<BITS>;
  const int64_t kp = (k + cw - 1) / cw * cw, groups = k / group, gp = (groups + W - 1) / W * W, blocks = k / kActBlock;
  thread_local std::vector<int8_t> qnat;
  thread_local std::vector<float> dnat;
  qnat.resize(kp);
  dnat.resize(blocks);
  a.q.resize(static_cast<size_t>(n) * kp);
  a.d.resize(static_cast<size_t>(n) * (kp / cpl));
  a.xs.resize(static_cast<size_t>(n) * gp);
  for (int i = 0; i < n; ++i) {
    int8_t* q = a.q.data() + i * kp;
    float* d = a.d.data() + i * (kp / cpl);
    float* xs = a.xs.data() + i * gp;
    int8_t* qn = BITS == 8 ? q : qnat.data();
    quantize_act(x + i * k, k, kActBlock, group, qn, dnat.data(), xs);
    std::fill(qn + k, qn + kp, int8_t{0});
    std::fill(xs + groups, xs + gp, 0.0f);
    if constexpr (BITS == 4)
      for (int64_t c = 0; c < kp; c += cw) S::split_bytes(qn + c, q + c, q + c + cw / 2);
    constexpr int per = kActBlock / cpl;  // lanes per block
    for (int64_t b = 0; b < blocks; ++b)
      for (int j = 0; j < per; ++j) d[b * per + j] = dnat[b];
    std::fill(d + blocks * per, d + kp / cpl, 0.0f);
  }
  a.ldq = kp, a.ldd = kp / cpl, a.ldxs = gp;
  a.x = x, a.n = n;
}

// y[t][r0 + r] for r < NR, t < NT. codes: row r0's packed bytes; sf/bf: [NR][gp] f32 scales and
// biases (zero padded); a: this tile's tokens.
template <int BITS, int NR, int NT>
void rows_int8(const uint8_t* codes, int64_t row_bytes, const float* sf, const float* bf, int64_t gp, int64_t k, int group,
               int gshift, const DecodeActs& a, int64_t r0, float* y, int64_t ldy, bool prefetch) {
  using I = typename S::I;
  constexpr int cw = kCW<BITS>, cpl = kCPL<BITS>;
  static_assert(cw * BITS / 8 == 4 * W);  // a chunk's code bytes: one vector
  alignas(64) static constexpr auto ramp = [] {
    std::array<int32_t, W> v{};
    for (int l = 0; l < W; ++l) v[l] = l * cpl;
    return v;
  }();
  const I ramp_v = S::iload(ramp.data()), step_v = S::iset1(cw);
  V tot[NR][NT];
  for (int r = 0; r < NR; ++r)
    for (int t = 0; t < NT; ++t) tot[r][t] = S::zero();
  const int64_t kfull = k / cw * cw;
  // One chunk at column c (lanes' groups within the window: idx); wload(r) gives row r's bytes.
  auto chunk = [&](int64_t c, I idx, const V(&sv)[NR], auto wload) __attribute__((always_inline)) {
    I x0[NT], x1[NT];
    V dv[NT];
    for (int t = 0; t < NT; ++t) {
      const int8_t* q = a.q + t * a.ldq + c;
      x0[t] = S::bload(q);
      if constexpr (BITS == 4) x1[t] = S::bload(q + cw / 2);
      dv[t] = S::load(a.d + t * a.ldd + c / cpl);
    }
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) {
      const I wv = wload(r);
      const V s = S::permv(sv[r], idx);
      if constexpr (BITS == 4) {
        I lo, hi;
        S::nibbles(wv, lo, hi);
#pragma GCC unroll 4
        for (int t = 0; t < NT; ++t) tot[r][t] = S::fma(S::cvt(S::dp4x2(lo, x0[t], hi, x1[t])), S::mul(s, dv[t]), tot[r][t]);
      } else {
#pragma GCC unroll 4
        for (int t = 0; t < NT; ++t) tot[r][t] = S::fma(S::cvt(S::dp8(wv, x0[t])), S::mul(s, dv[t]), tot[r][t]);
      }
    }
  };
  for (int64_t w0 = 0; w0 < gp; w0 += W) {  // windows of W groups: one register of scales per row
    V sv[NR];
    for (int r = 0; r < NR; ++r) sv[r] = S::load(sf + r * gp + w0);
    const int64_t c0 = w0 * group, c1 = std::min(k, c0 + static_cast<int64_t>(W) * group);
    I col = ramp_v;  // lane's column relative to the window
    int64_t c = c0;
    for (; c < std::min(c1, kfull); c += cw) {
      chunk(c, S::isrl(col, gshift), sv, [&](int r) {
        const uint8_t* p = codes + r * row_bytes + c * BITS / 8;
        if (prefetch) __builtin_prefetch(p + NR * row_bytes);  // the next step's rows (parallel streams defeat the prefetcher)
        return S::bload(p);
      });
      col = S::iadd(col, step_v);
    }
    if (c < c1) {  // last chunk of a row, partial: bytes past the row read as zero codes
      const int nb = static_cast<int>((k - c) * BITS / 8);
      chunk(c, S::isrl(col, gshift), sv, [&](int r) { return S::bload_n(codes + r * row_bytes + c * BITS / 8, nb); });
    }
  }
  for (int r = 0; r < NR; ++r)
    for (int t = 0; t < NT; ++t) {
      V bt = S::zero();
      for (int64_t g = 0; g < gp; g += W) bt = S::fma(S::load(bf + r * gp + g), S::load(a.xs + t * a.ldxs + g), bt);
      y[t * ldy + r0 + r] = S::reduce(tot[r][t]) + S::reduce(bt);
    }
}

template <int BITS>
void rows_int8_all(const MatRef& w, const Int8Acts& acts, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  const int n = acts.n, group = w.group, gshift = group == 32 ? 5 : group == 64 ? 6 : 7;
  const int64_t k = w.k, groups = k / group, gp = (groups + W - 1) / W * W, row_bytes = k * BITS / 8;
  const uint8_t* codes = static_cast<const uint8_t*>(w.w);
  thread_local std::vector<float> sb;
  constexpr int kMaxR = std::max(S::kDR, S::kDRT);
  sb.assign(static_cast<size_t>(2 * kMaxR) * gp, 0.0f);  // [kMaxR][gp] scales, then biases; padding stays zero
  float* sf = sb.data();
  float* bf = sb.data() + kMaxR * gp;
  // NR rows from r: scales and biases as f32, then the row kernel for each tile of tokens (the rows
  // stay in cache between tiles; the first tile prefetches the next step's rows).
  const int64_t sb_row = groups * static_cast<int64_t>(dtype_size(w.sb_dtype));  // bytes of a row's scales (biases)
  auto step = [&]<int NR, bool kMulti>(int64_t r) {  // kMulti: n > 1 (one token: no other tiles compiled)
    for (int64_t o = 0; o < NR * sb_row; o += 64) {  // the next step's scales and biases
      __builtin_prefetch(static_cast<const char*>(w.scales) + (r + NR) * sb_row + o);
      __builtin_prefetch(static_cast<const char*>(w.biases) + (r + NR) * sb_row + o);
    }
    for (int i = 0; i < NR; ++i) {
      floats_to_f32(w.scales, w.sb_dtype, (r + i) * groups, groups, sf + i * gp);
      floats_to_f32(w.biases, w.sb_dtype, (r + i) * groups, groups, bf + i * gp);
    }
    const uint8_t* c = codes + r * row_bytes;
    for (int t0 = 0; t0 < n; t0 += S::kDT) {
      const DecodeActs at{acts.q.data() + t0 * acts.ldq,
                          acts.d.data() + t0 * acts.ldd,
                          acts.xs.data() + t0 * acts.ldxs,
                          acts.ldq,
                          acts.ldd,
                          acts.ldxs};
      float* yt = y + t0 * ldy;
      const bool pf = t0 == 0;
      static_assert(S::kDT >= 2 && S::kDT <= 4);
      switch (kMulti ? std::min(S::kDT, n - t0) : 1) {
        case 1: rows_int8<BITS, NR, 1>(c, row_bytes, sf, bf, gp, k, group, gshift, at, r, yt, ldy, pf); break;
        case 2:
          if constexpr (kMulti) rows_int8<BITS, NR, 2>(c, row_bytes, sf, bf, gp, k, group, gshift, at, r, yt, ldy, pf);
          break;
        case 3:
          if constexpr (kMulti && S::kDT >= 3)
            rows_int8<BITS, NR, 3>(c, row_bytes, sf, bf, gp, k, group, gshift, at, r, yt, ldy, pf);
          break;
        default:
          if constexpr (kMulti && S::kDT >= 4)
            rows_int8<BITS, NR, 4>(c, row_bytes, sf, bf, gp, k, group, gshift, at, r, yt, ldy, pf);
          break;
      }
    }
  };
  int64_t r = m0;
  if (n == 1) {
    for (; r + S::kDR <= m1; r += S::kDR) step.template operator()<S::kDR, false>(r);
    for (; r < m1; ++r) step.template operator()<1, false>(r);
  } else {
    for (; r + S::kDRT <= m1; r += S::kDRT) step.template operator()<S::kDRT, true>(r);
    for (; r < m1; ++r) step.template operator()<1, true>(r);
  }
}

// kernels.h Kernels::prepare_int8 / matmul_int8 (the prefill's from simd_int8_impl.h where n >= kInt8MinTokens),
// and matmul's int8 decode (both steps on one thread).
void prepare_int8(const MatRef& w, const float* x, int n, Int8Acts& a) {
  if (n >= kInt8MinTokens) return prepare_prefill(w, x, n, a);
  w.bits == 8 ? prepare_decode<8>(x, n, w.k, w.group, a) : prepare_decode<4>(x, n, w.k, w.group, a);
}
void matmul_int8_prepared(const MatRef& w, const Int8Acts& a, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  if (m1 <= m0) return;
  if (a.n >= kInt8MinTokens)
    return w.bits == 8 ? matmul_int8_panel<8>(w, a, m0, m1, y, ldy) : matmul_int8_panel<4>(w, a, m0, m1, y, ldy);
  w.bits == 8 ? rows_int8_all<8>(w, a, m0, m1, y, ldy) : rows_int8_all<4>(w, a, m0, m1, y, ldy);
}
void matmul_int8_small(const MatRef& w, const float* x, int n, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  thread_local Int8Acts a;
  prepare_int8(w, x, n, a);
  matmul_int8_prepared(w, a, m0, m1, y, ldy);
}
