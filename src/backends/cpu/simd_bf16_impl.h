// Prefill with bf16 weights on bf16 dot products (vdpbf16ps; kernels.h bf16_dot(), off by default): the
// activations are rounded to bf16 (nearest even), as a bf16 model computes in PyTorch, and each instruction
// multiplies pairs of columns exactly and adds them to f32 sums, twice the columns of an f32 FMA. Included by
// simd_kernels_impl.h inside the AVX-512 namespace (the only set with AVX512_BF16). No include guard on purpose.
//
// Work mapping as matmul_packed: a register tile of kRB rows × kNV·W tokens; the activations of a block of
// kTB tokens become a panel of column pairs [k/2][tokens] (one 32-bit bf16 pair per token), each weight pair
// is broadcast straight from the row (bf16 storage needs no conversion).

// yt[r][j] (+)= Σ_c W[r][c] · x[c][j] over pairs c2 < kc2: w[r] points at row r's first pair, xb at the panel.
inline void micro_bf16(const uint16_t* const* w, const uint32_t* xb, int64_t ldx, int kc2, float* yt, int64_t ldy, bool first) {
  V acc[kRB][kNV];
  for (int r = 0; r < kRB; ++r)
    for (int v = 0; v < kNV; ++v) acc[r][v] = first ? S::zero() : S::load(yt + r * ldy + v * W);
  for (int c = 0; c < kc2; ++c) {
    __m512bh xv[kNV];
    for (int v = 0; v < kNV; ++v) xv[v] = reinterpret_cast<__m512bh>(_mm512_loadu_si512(xb + c * ldx + v * W));
#pragma GCC unroll 16
    for (int r = 0; r < kRB; ++r) {
      uint32_t pair;
      std::memcpy(&pair, w[r] + 2 * c, 4);
      const __m512bh b = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(pair)));
      for (int v = 0; v < kNV; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], b, xv[v]);
    }
  }
  for (int r = 0; r < kRB; ++r)
    for (int v = 0; v < kNV; ++v) S::store(yt + r * ldy + v * W, acc[r][v]);
}

// matmul for bf16 weights with an even k and n >= kPackMinTokens while bf16_dot().
void matmul_packed_bf16(const MatRef& w, const float* x, int n, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  const int64_t k = w.k, k2 = k / 2;
  const uint16_t* wb = static_cast<const uint16_t*>(w.w);
  thread_local std::vector<uint32_t> xb;
  thread_local std::vector<float> yt;
  xb.resize(static_cast<size_t>(k2) * kTB);
  yt.resize(static_cast<size_t>(kMB + kRB) * kTB);
  for (int t0 = 0; t0 < n; t0 += kTB) {
    const int tb = std::min(kTB, n - t0), tbp = (tb + kTW - 1) / kTW * kTW;
    for (int64_t p0 = 0; p0 < k2; p0 += 16) {  // strips of 16 pairs, as matmul_packed's transpose
      const int64_t pe = std::min<int64_t>(k2, p0 + 16);
      for (int j = 0; j < tbp; ++j) {
        const float* xr = x + static_cast<int64_t>(t0 + j) * k;
        for (int64_t p = p0; p < pe; ++p)
          xb[p * tbp + j] = j < tb ? f32_to_bf16(xr[2 * p]) | static_cast<uint32_t>(f32_to_bf16(xr[2 * p + 1])) << 16 : 0u;
      }
    }
    for (int64_t mb = m0; mb < m1; mb += kMB) {
      const int64_t me = std::min(m1, mb + kMB);
      for (int64_t k0 = 0; k0 < k; k0 += kKC) {
        const int kc = static_cast<int>(std::min<int64_t>(kKC, k - k0));
        for (int64_t r = mb; r < me; r += kRB) {
          const uint16_t* rows[kRB];
          for (int i = 0; i < kRB; ++i) rows[i] = wb + std::min(r + i, me - 1) * k + k0;  // past the end: a repeated row
          for (int64_t i = r + kRB; i < std::min(me, r + 2 * kRB); ++i)                   // the next row block's slice
            for (int64_t o = 0; o < kc * 2; o += 64) __builtin_prefetch(reinterpret_cast<const char*>(wb + i * k + k0) + o);
          for (int j0 = 0; j0 < tbp; j0 += kTW)
            micro_bf16(rows, xb.data() + k0 / 2 * tbp + j0, tbp, kc / 2, yt.data() + (r - mb) * kTB + j0, kTB, k0 == 0);
        }
      }
      for (int j = 0; j < tb; ++j) {
        float* yr = y + static_cast<int64_t>(t0 + j) * ldy;
        for (int64_t r = mb; r < me; ++r) yr[r] = yt[(r - mb) * kTB + j];
      }
    }
  }
}
