// SIMD bodies of the ggml integer dot products, written once over a small traits struct V (256-bit integer dot of
// unsigned weight bytes with signed activation bytes) and compiled per ISA (ggml_qdot_avx2.cpp, ggml_qdot_avx512.cpp).
// Include only from those files, after <immintrin.h>, inside an ISA-specific namespace.
//
// Row streaming (any number of tokens): for each row, a run of weight blocks is unpacked once into bytes and dotted
// with every token. Legacy types (blocks of 32): the integer sum of each block, then the block's f32 product formed
// as ggml's generic vec_dot forms it and added to the token's sum in block order, so the result equals the scalar
// reference bit for bit. K types (super-blocks of 256): exact integer sums per super-block (Σ scale·Σq·a and the
// min/offset terms), then sum += (dx·dy)·isum − (dmin·dy)·summ per super-block.

namespace detail {

// Keeps the compiler from fusing a product into the following addition (ggml's generic code rounds each product).
template <class T>
inline T opaque(T v) {
  __asm__("" : "+v"(v));
  return v;
}

inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

inline uint16_t rd16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

inline __m256i nibbles32(const uint8_t* qs) {  // 16 bytes -> elements 0..15 (low nibbles), 16..31 (high)
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i m = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
}

// Bit j of the 32-bit word as 0x10 in byte j (Q5_0 / Q5_1 fifth bits).
inline __m256i bits_to_0x10(uint32_t qh) {
  const __m256i v = _mm256_set1_epi32(static_cast<int>(qh));
  const __m256i shuf =
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bytes = _mm256_shuffle_epi8(v, shuf);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// Sums of each of 8 vectors of 8 int32 lanes: lane j of the result = Σ lanes of p[j].
inline __m256i reduce8(const __m256i p[8]) {
  const __m256i h01 = _mm256_hadd_epi32(p[0], p[1]), h23 = _mm256_hadd_epi32(p[2], p[3]);
  const __m256i h45 = _mm256_hadd_epi32(p[4], p[5]), h67 = _mm256_hadd_epi32(p[6], p[7]);
  const __m256i a = _mm256_hadd_epi32(h01, h23), b = _mm256_hadd_epi32(h45, h67);
  return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

inline int hsum8(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

constexpr int8_t kIQ4NLv[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// ---- legacy types (blocks of 32 against q8_0 / q8_1) ----

enum class Legacy { Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL };

template <Legacy L>
struct LegacyInfo;
template <>
struct LegacyInfo<Legacy::Q8_0> {
  static constexpr size_t kBytes = 34;
  static constexpr bool kSigned = true, kMin = false;
  static constexpr int kOff = 0;
};
template <>
struct LegacyInfo<Legacy::Q4_0> {
  static constexpr size_t kBytes = 18;
  static constexpr bool kSigned = false, kMin = false;
  static constexpr int kOff = 8;
};
template <>
struct LegacyInfo<Legacy::Q4_1> {
  static constexpr size_t kBytes = 20;
  static constexpr bool kSigned = false, kMin = true;
  static constexpr int kOff = 0;
};
template <>
struct LegacyInfo<Legacy::Q5_0> {
  static constexpr size_t kBytes = 22;
  static constexpr bool kSigned = false, kMin = false;
  static constexpr int kOff = 16;
};
template <>
struct LegacyInfo<Legacy::Q5_1> {
  static constexpr size_t kBytes = 24;
  static constexpr bool kSigned = false, kMin = true;
  static constexpr int kOff = 0;
};
template <>
struct LegacyInfo<Legacy::IQ4_NL> {
  static constexpr size_t kBytes = 18;
  static constexpr bool kSigned = true, kMin = false;
  static constexpr int kOff = 0;
};

// The 32 codes of block `blk` (unsigned, or signed for Q8_0 / IQ4_NL), its d and (Q4_1, Q5_1) m as f16 bits.
template <Legacy L>
inline __m256i legacy_codes(const uint8_t* blk, uint16_t* d, uint16_t* m) {
  *d = rd16(blk);
  if constexpr (L == Legacy::Q8_0) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
  } else if constexpr (L == Legacy::Q4_0) {
    return nibbles32(blk + 2);
  } else if constexpr (L == Legacy::IQ4_NL) {
    const __m256i tbl = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIQ4NLv)));
    return _mm256_shuffle_epi8(tbl, nibbles32(blk + 2));
  } else if constexpr (L == Legacy::Q4_1) {
    *m = rd16(blk + 2);
    return nibbles32(blk + 4);
  } else if constexpr (L == Legacy::Q5_0) {
    uint32_t qh;
    std::memcpy(&qh, blk + 2, 4);
    return _mm256_or_si256(nibbles32(blk + 6), bits_to_0x10(qh));
  } else {
    *m = rd16(blk + 2);
    uint32_t qh;
    std::memcpy(&qh, blk + 4, 4);
    return _mm256_or_si256(nibbles32(blk + 8), bits_to_0x10(qh));
  }
}

// Per-call token data, padded to whole runs of 8 blocks: block scales dy, (q8_1) s, and Σq per block.
struct TokenPrep {
  int64_t nbp = 0;
  std::vector<float> dy, sy;
  std::vector<int32_t> sum;
  // Codes per pair of blocks (b, b+1) as the row kernel dots them: b[0:16], b+1[0:16], b[16:32], b+1[16:32].
  std::vector<int8_t> ap;
};

inline void prep_tokens(const GgmlActs& a, TokenPrep* p) {
  const int64_t nb = a.k / 32;
  p->nbp = (nb + 7) / 8 * 8;
  const size_t sz = static_cast<size_t>(a.n * p->nbp);
  p->dy.assign(sz, 0.0f);
  p->sy.assign(sz, 0.0f);
  p->sum.assign(sz, 0);
  for (int t = 0; t < a.n; ++t) {
    const float* d = a.scales(t);
    const int32_t* bs = a.bsums(t);
    for (int64_t b = 0; b < nb; ++b) {
      p->dy[t * p->nbp + b] = d[b];
      if (a.kind == GgmlActKind::Q8_1) p->sy[t * p->nbp + b] = a.sums(t)[b];
      p->sum[t * p->nbp + b] = bs[2 * b] + bs[2 * b + 1];
    }
  }
  p->ap.assign(static_cast<size_t>(a.n * p->nbp * 32), 0);
  for (int t = 0; t < a.n; ++t) {
    const int8_t* q = a.codes(t);
    int8_t* o = p->ap.data() + t * p->nbp * 32;
    for (int64_t b = 0; b < nb; ++b) {
      int8_t* dst = o + (b / 2) * 64 + (b % 2) * 16;
      std::memcpy(dst, q + b * 32, 16);
      std::memcpy(dst + 32, q + b * 32 + 16, 16);
    }
  }
}

// The f32 terms of 8 blocks as ggml's generic vec_dot forms them, from the exact integer sums `isum`.
template <Legacy L>
inline __m256 legacy_terms(__m256i isum, __m256 dx, __m256 dy, __m256 mx, __m256 sy) {
  const __m256 fi = _mm256_cvtepi32_ps(isum);
  if constexpr (L == Legacy::Q8_0) return _mm256_mul_ps(fi, _mm256_mul_ps(dx, dy));               // sumi*(dx*dy)
  else if constexpr (L == Legacy::Q4_0) return _mm256_mul_ps(opaque(_mm256_mul_ps(fi, dx)), dy);  // sumi*dx*dy
  else if constexpr (LegacyInfo<L>::kMin)
    return _mm256_add_ps(opaque(_mm256_mul_ps(_mm256_mul_ps(dx, dy), fi)), opaque(_mm256_mul_ps(mx, sy)));
  else return _mm256_mul_ps(_mm256_mul_ps(dx, dy), fi);  // (dx*dy)*sumi, (dy*dx)*sumi
}

// Two blocks' codes as P = [b first 16 | b1 first 16], Q = [b last 16 | b1 last 16] (the layout of TokenPrep::ap).
template <Legacy L, bool kFlip>
inline void legacy_pair(const uint8_t* b0, const uint8_t* b1, __m256i* P, __m256i* Q, uint16_t* d0, uint16_t* d1, uint16_t* m0,
                        uint16_t* m1) {
  if constexpr (L == Legacy::Q4_0) {
    *d0 = rd16(b0), *d1 = rd16(b1);
    const __m256i q = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b1 + 2)),
                                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(b0 + 2)));
    const __m256i m = _mm256_set1_epi8(0x0F);
    *P = _mm256_and_si256(q, m);
    *Q = _mm256_and_si256(_mm256_srli_epi16(q, 4), m);
  } else if constexpr (L == Legacy::Q8_0) {
    *d0 = rd16(b0), *d1 = rd16(b1);
    __m256i p = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b1 + 2)),
                                 _mm_loadu_si128(reinterpret_cast<const __m128i*>(b0 + 2)));
    __m256i q = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b1 + 18)),
                                 _mm_loadu_si128(reinterpret_cast<const __m128i*>(b0 + 18)));
    if constexpr (kFlip) {
      const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
      p = _mm256_xor_si256(p, flip), q = _mm256_xor_si256(q, flip);
    }
    *P = p, *Q = q;
  } else {
    __m256i c0 = legacy_codes<L>(b0, d0, m0), c1 = legacy_codes<L>(b1, d1, m1);
    if constexpr (kFlip) {
      const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
      c0 = _mm256_xor_si256(c0, flip), c1 = _mm256_xor_si256(c1, flip);
    }
    *P = _mm256_permute2x128_si256(c0, c1, 0x20);
    *Q = _mm256_permute2x128_si256(c0, c1, 0x31);
  }
}

inline __m256 halves_to_ps(const uint16_t h[8]) {  // built in registers (a 128-bit reload of just-stored halves stalls)
  return _mm256_cvtph_ps(_mm_setr_epi16(static_cast<short>(h[0]), static_cast<short>(h[1]), static_cast<short>(h[2]),
                                        static_cast<short>(h[3]), static_cast<short>(h[4]), static_cast<short>(h[5]),
                                        static_cast<short>(h[6]), static_cast<short>(h[7])));
}

// Row streaming: per run of 8 blocks the row is unpacked once (4 pairs of blocks), then per token 8 dot
// instructions, 3 horizontal adds give the 8 block sums, and the f32 terms are added in block order. The rows
// are one stream, read kLegacyAhead bytes ahead by software prefetch: on this VM the hardware prefetcher alone
// left Q4_0 1B tg at 12 tok/s (2 threads); 2 KB ahead gives 27 (1 KB 25.7, 4 KB 23.6, 8 KB 22.3).
constexpr int kLegacyAhead = 2048;
template <class V, Legacy L>
void rows_legacy(const uint8_t* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  using I = LegacyInfo<L>;
  thread_local TokenPrep prep;
  prep_tokens(a, &prep);
  const int64_t nb = a.k / 32, nbp = prep.nbp;
  const int n = a.n;
  constexpr bool kSignedDot = I::kSigned && !V::kWide;          // abs/sign trick (AVX2 maddubs)
  constexpr int kOff = I::kSigned && V::kWide ? 128 : I::kOff;  // codes stored + kOff; Σq·kOff subtracted
  thread_local std::vector<int32_t> corr;
  corr.resize(prep.sum.size());
  for (size_t i = 0; i < corr.size(); ++i) corr[i] = kOff * prep.sum[i];
  thread_local std::vector<float> acc;
  acc.resize(static_cast<size_t>(n));
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t r = m0; r < m1; ++r) {
    const uint8_t* row = w + static_cast<size_t>(r) * row_bytes;
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int64_t b0 = 0; b0 < nb; b0 += 8) {
      const int cnt = static_cast<int>(std::min<int64_t>(8, nb - b0));
      for (int o = 0; o < 8 * static_cast<int>(I::kBytes); o += 64) __builtin_prefetch(row + b0 * I::kBytes + kLegacyAhead + o);
      __m256i P[4], Q[4], Pa[4], Qa[4];
      uint16_t dh[8] = {}, mh[8] = {};
      for (int i = 0; i < 4; ++i) {
        if (2 * i >= cnt) {
          P[i] = Q[i] = Pa[i] = Qa[i] = _mm256_setzero_si256();
          continue;
        }
        const uint8_t* blk = row + (b0 + 2 * i) * I::kBytes;
        const uint8_t* blk1 = 2 * i + 1 < cnt ? blk + I::kBytes : blk;  // a missing second block meets zero codes
        legacy_pair<L, I::kSigned && V::kWide>(blk, blk1, &P[i], &Q[i], &dh[2 * i], &dh[2 * i + 1], &mh[2 * i], &mh[2 * i + 1]);
        if constexpr (kSignedDot) Pa[i] = _mm256_sign_epi8(P[i], P[i]), Qa[i] = _mm256_sign_epi8(Q[i], Q[i]);
      }
      if (cnt % 2) dh[cnt] = mh[cnt] = 0;
      const __m256 dx = halves_to_ps(dh);
      __m256 mx = _mm256_setzero_ps();
      if constexpr (I::kMin) mx = halves_to_ps(mh);
      for (int t = 0; t < n; ++t) {
        const int8_t* at = prep.ap.data() + (t * nbp + b0) * 32;
        __m256i v[4];
        for (int i = 0; i < 4; ++i) {
          const __m256i ap = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at + 64 * i));
          const __m256i aq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at + 64 * i + 32));
          if constexpr (kSignedDot) {
            v[i] = V::dot(V::dot(_mm256_setzero_si256(), Pa[i], _mm256_sign_epi8(ap, P[i])), Qa[i], _mm256_sign_epi8(aq, Q[i]));
          } else {
            v[i] = V::dot(V::dot(_mm256_setzero_si256(), P[i], ap), Q[i], aq);
          }
        }
        const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
        __m256i isum = _mm256_permutevar8x32_epi32(h, order);
        if constexpr (kOff != 0)
          isum = _mm256_sub_epi32(isum, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr.data() + t * nbp + b0)));
        const __m256 dy = _mm256_loadu_ps(prep.dy.data() + t * nbp + b0);
        __m256 sy = _mm256_setzero_ps();
        if constexpr (I::kMin) sy = _mm256_loadu_ps(prep.sy.data() + t * nbp + b0);
        alignas(32) float f[8];
        _mm256_store_ps(f, legacy_terms<L>(isum, dx, dy, mx, sy));
        float s = acc[t];
        if (cnt == 8) {  // straight-line adds for whole runs
          for (int j = 0; j < 8; ++j) s += f[j];
        } else {
          for (int j = 0; j < cnt; ++j) s += f[j];
        }
        acc[t] = s;
      }
    }
    for (int t = 0; t < n; ++t) y[t * ldy + r] = acc[t];
  }
}

// ---- K types (super-blocks of 256 against q8_K) ----

enum class KType { Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS };

template <KType K>
struct KInfo {
  static constexpr size_t kBytes = K == KType::Q2_K   ? 84
                                   : K == KType::Q3_K ? 110
                                   : K == KType::Q4_K ? 144
                                   : K == KType::Q5_K ? 176
                                   : K == KType::Q6_K ? 210
                                                      : 136;
  // Σ mins·Σa scaled by dmin (ggml's dall·isum − dmin·summs), else an integer offset folded into the sum.
  static constexpr bool kMin = K == KType::Q2_K || K == KType::Q4_K || K == KType::Q5_K;
};

inline uint32_t rd32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// 8 int32 lanes, one per 32 columns, to the 16 groups of 16 columns: lanes 0-7 of s[0] are groups 0-7, of s[1] 8-15.
inline void per32_to_per16(__m256i v, __m256i s[2]) {
  s[0] = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3));
  s[1] = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7));
}

// Unpacks one super-block into 8 vectors of 32 unsigned codes (elements in order), the integer scale of each 16
// columns (s16: groups 0-7, 8-15 as int32 lanes), the weight of each 16 columns' Σa that is subtracted (mw: the min,
// or scale · the code offset), and d / dmin as f32. The block's integer sum is Σ s16[g]·Σ(code·a over g) −
// Σ mw[g]·Σa over g. Scales are unpacked in registers (a round trip through memory stalls store forwarding).
template <KType K>
inline void k_unpack(const uint8_t* blk, __m256i codes[8], __m256i s16[2], __m256i mw[2], float* d, float* dmin) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03), one = _mm256_set1_epi8(1);
  *dmin = 0.0f;
  if constexpr (K == KType::Q6_K) {
    const uint8_t* ql = blk;
    const uint8_t* qh = blk + 128;
    *d = h2f(rd16(blk + 208));
    const __m256i m3 = _mm256_set1_epi8(0x30);
    for (int c = 0; c < 2; ++c, ql += 64, qh += 32) {
      const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      const __m256i q1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
      codes[4 * c + 0] = _mm256_or_si256(_mm256_and_si256(q0, m4), _mm256_and_si256(_mm256_slli_epi16(h, 4), m3));
      codes[4 * c + 1] = _mm256_or_si256(_mm256_and_si256(q1, m4), _mm256_and_si256(_mm256_slli_epi16(h, 2), m3));
      codes[4 * c + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q0, 4), m4), _mm256_and_si256(h, m3));
      codes[4 * c + 3] =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(h, 2), m3));
    }
    const __m128i s8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192));
    s16[0] = _mm256_cvtepi8_epi32(s8);
    s16[1] = _mm256_cvtepi8_epi32(_mm_unpackhi_epi64(s8, s8));
    for (int h = 0; h < 2; ++h) mw[h] = _mm256_slli_epi32(s16[h], 5);  // offset 32
  } else if constexpr (K == KType::Q2_K) {                             // 2-bit codes, 4-bit scale and min per 16 columns
    *d = h2f(rd16(blk + 80));
    *dmin = h2f(rd16(blk + 82));
    for (int h = 0; h < 2; ++h) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * h));
      for (int s = 0; s < 4; ++s) codes[4 * h + s] = _mm256_and_si256(_mm256_srli_epi16(q, 2 * s), m2);
    }
    const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk));
    const __m128i lo = _mm_and_si128(sc, _mm_set1_epi8(0x0F)), hi = _mm_and_si128(_mm_srli_epi16(sc, 4), _mm_set1_epi8(0x0F));
    s16[0] = _mm256_cvtepu8_epi32(lo), s16[1] = _mm256_cvtepu8_epi32(_mm_unpackhi_epi64(lo, lo));
    mw[0] = _mm256_cvtepu8_epi32(hi), mw[1] = _mm256_cvtepu8_epi32(_mm_unpackhi_epi64(hi, hi));
  } else if constexpr (K == KType::Q3_K) {  // 2 low bits + a high bit (clear: −4), signed 6-bit scales per 16
    *d = h2f(rd16(blk + 108));
    const __m256i hm = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk));
    for (int h = 0; h < 2; ++h) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 32 + 32 * h));
      for (int s = 0; s < 4; ++s) {
        const int i = 4 * h + s;
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(hm, i), one);
        codes[i] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * s), m2), _mm256_slli_epi16(hi, 2));
      }
    }
    // ggml's 12-byte packing (ggml::q3_k_scales), in registers: low nibbles from bytes 0..7, 2 high bits from 8..11.
    constexpr uint32_t kLow2 = 0x03030303, kLow4 = 0x0f0f0f0f;
    const uint32_t u0 = rd32(blk + 96), u1 = rd32(blk + 100), u2 = rd32(blk + 104);
    const __m128i packed = _mm_setr_epi32(static_cast<int>((u0 & kLow4) | ((u2 & kLow2) << 4)),
                                          static_cast<int>((u1 & kLow4) | (((u2 >> 2) & kLow2) << 4)),
                                          static_cast<int>(((u0 >> 4) & kLow4) | (((u2 >> 4) & kLow2) << 4)),
                                          static_cast<int>(((u1 >> 4) & kLow4) | (((u2 >> 6) & kLow2) << 4)));
    const __m256i off = _mm256_set1_epi32(32);
    s16[0] = _mm256_sub_epi32(_mm256_cvtepu8_epi32(packed), off);
    s16[1] = _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(packed, packed)), off);
    for (int h = 0; h < 2; ++h) mw[h] = _mm256_slli_epi32(s16[h], 2);  // offset 4
  } else if constexpr (K == KType::IQ4_XS) {  // IQ4_NL values (+128 as unsigned codes), a 6-bit scale per 32
    *d = h2f(rd16(blk));
    const __m256i tbl = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIQ4NLv)));
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
    for (int ib = 0; ib < 8; ++ib) codes[ib] = _mm256_xor_si256(_mm256_shuffle_epi8(tbl, nibbles32(blk + 8 + 16 * ib)), flip);
    // Sub-block ib: low 4 bits at bit 4·ib of scales_l, high 2 bits at bit 2·ib of scales_h.
    const __m256i lo = _mm256_and_si256(
        _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(rd32(blk + 4))), _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)),
        _mm256_set1_epi32(0xF));
    const __m256i hi = _mm256_and_si256(
        _mm256_srlv_epi32(_mm256_set1_epi32(rd16(blk + 2)), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14)), _mm256_set1_epi32(3));
    per32_to_per16(_mm256_sub_epi32(_mm256_or_si256(lo, _mm256_slli_epi32(hi, 4)), _mm256_set1_epi32(32)), s16);
    for (int h = 0; h < 2; ++h) mw[h] = _mm256_slli_epi32(s16[h], 7);  // offset 128
  } else {
    *d = h2f(rd16(blk));
    *dmin = h2f(rd16(blk + 2));
    // ggml's 12-byte packing of 8 six-bit scales and mins (ggml::k4_scales), in registers.
    constexpr uint32_t k1 = 0x3f3f3f3f, k2 = 0x0f0f0f0f, k3 = 0x03030303;
    const uint32_t u0 = rd32(blk + 4), u1 = rd32(blk + 8), u2 = rd32(blk + 12);
    const uint64_t sc = (u0 & k1) | static_cast<uint64_t>((u2 & k2) | (((u0 >> 6) & k3) << 4)) << 32;
    const uint64_t mn = (u1 & k1) | static_cast<uint64_t>(((u2 >> 4) & k2) | (((u1 >> 6) & k3) << 4)) << 32;
    per32_to_per16(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(sc))), s16);
    per32_to_per16(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(mn))), mw);
    const uint8_t* qs = blk + 16 + (K == KType::Q5_K ? 32 : 0);
    __m256i hb = _mm256_setzero_si256();
    if constexpr (K == KType::Q5_K) hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16));
    for (int j = 0; j < 4; ++j, qs += 32) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs));
      __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      if constexpr (K == KType::Q5_K) {
        const __m256i b0 = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * j), one);
        const __m256i b1 = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * j + 1), one);
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(b0, 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(b1, 4));
      }
      codes[2 * j] = lo;
      codes[2 * j + 1] = hi;
    }
  }
}

// The f32 term of one super-block from its exact integer sums, as the row and tile kernels both form it.
template <KType K>
inline float k_term(float dx, float dm, float dy, int32_t isum, int32_t summ) {
  if constexpr (KInfo<K>::kMin) {
    const float p1 = opaque((dx * dy) * static_cast<float>(isum)), p2 = opaque((dm * dy) * static_cast<float>(summ));
    return opaque(p1 - p2);
  } else {
    return opaque((dx * dy) * static_cast<float>(isum - summ));
  }
}

template <class V, KType K>
void rows_k(const uint8_t* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  constexpr size_t kBytes = KInfo<K>::kBytes;
  const int64_t nb = a.k / 256;
  thread_local std::vector<float> acc;
  acc.resize(static_cast<size_t>(a.n));
  // Lanes 0-3 of code vector i take scale 2i, lanes 4-7 scale 2i+1 (within s16[0..8) or s16[8..16)).
  __m256i pick[4];
  for (int i = 0; i < 4; ++i) pick[i] = _mm256_setr_epi32(2 * i, 2 * i, 2 * i, 2 * i, 2 * i + 1, 2 * i + 1, 2 * i + 1, 2 * i + 1);
  for (int64_t r = m0; r < m1; ++r) {
    const uint8_t* row = w + static_cast<size_t>(r) * row_bytes;
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int64_t b = 0; b < nb; ++b) {
      for (size_t o = 0; o < kBytes; o += 64) __builtin_prefetch(row + b * kBytes + kLegacyAhead + o);  // as rows_legacy
      __m256i codes[8], sc[8], s16[2], mw[2];
      float dx, dminx;
      k_unpack<K>(row + b * kBytes, codes, s16, mw, &dx, &dminx);
      for (int i = 0; i < 8; ++i) sc[i] = _mm256_permutevar8x32_epi32(s16[i / 4], pick[i % 4]);
      const __m256i mw0 = mw[0], mw1 = mw[1];
      for (int t = 0; t < a.n; ++t) {
        const int8_t* at = a.codes(t) + b * 256;
        __m256i tot = _mm256_setzero_si256();
        for (int i = 0; i < 8; ++i) {
          const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at + 32 * i));
          tot = _mm256_add_epi32(tot, _mm256_mullo_epi32(V::dot(_mm256_setzero_si256(), codes[i], av), sc[i]));
        }
        const int32_t* bs = a.bsums(t) + b * 16;
        const __m256i bs0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bs));
        const __m256i bs1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bs + 8));
        const int summ = hsum8(_mm256_add_epi32(_mm256_mullo_epi32(bs0, mw0), _mm256_mullo_epi32(bs1, mw1)));
        // Products kept apart from the sums (no fused multiply-add): the prefill tile forms the same values.
        acc[t] += k_term<K>(dx, dminx, a.scales(t)[b], hsum8(tot), summ);
      }
    }
    for (int t = 0; t < a.n; ++t) y[t * ldy + r] = acc[t];
  }
}

// ---- activation quantization (the same values as ggml_qdot.cpp's scalar code) ----

inline float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// 32 int32 (4 vectors, elements in order) to 32 bytes in order (values within ±127).
inline void pack32(__m256i i0, __m256i i1, __m256i i2, __m256i i3, int8_t* q) {
  const __m256i a = _mm256_packs_epi32(i0, i1), b = _mm256_packs_epi32(i2, i3);
  const __m256i p = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(a, b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), p);
}

// One token: codes q [k], scales d, (q8_1) s, bsum per 16.
inline void quantize_token(GgmlActKind kind, const float* x, int64_t k, int8_t* q, float* d, float* s, int32_t* bsum) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  if (kind != GgmlActKind::Q8_K) {
    for (int64_t b = 0; b < k / 32; ++b, x += 32, q += 32) {
      __m256 v[4];
      for (int j = 0; j < 4; ++j) v[j] = _mm256_loadu_ps(x + 8 * j);
      __m256 m = _mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1]));
      m = _mm256_max_ps(m, _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3])));
      const float amax = hmax8(m);
      const float dd = amax / 127.f;
      d[b] = _cvtsh_ss(_cvtss_sh(dd, 0));
      const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.f / amax : 0.0f);
      __m256i i[4];
      for (int j = 0; j < 4; ++j) i[j] = _mm256_cvtps_epi32(_mm256_mul_ps(v[j], id));
      pack32(i[0], i[1], i[2], i[3], q);
      const int s0 = hsum8(_mm256_add_epi32(i[0], i[1])), s1 = hsum8(_mm256_add_epi32(i[2], i[3]));
      bsum[2 * b] = s0;
      bsum[2 * b + 1] = s1;
      if (kind == GgmlActKind::Q8_1) s[b] = _cvtsh_ss(_cvtss_sh(dd * static_cast<float>(s0 + s1), 0));
    }
    return;
  }
  for (int64_t b = 0; b < k / 256; ++b, x += 256, q += 256) {
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < 256; j += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
    const float amax = hmax8(m);
    if (amax == 0.0f) {
      d[b] = 0.0f;
      std::memset(q, 0, 256);
      for (int g = 0; g < 16; ++g) bsum[b * 16 + g] = 0;
      continue;
    }
    // The first element of largest magnitude gives the sign (ggml's strict '>' scan).
    float max = 0.0f;
    const __m256 am = _mm256_set1_ps(amax);
    for (int j = 0; j < 256; j += 8) {
      const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), am, _CMP_EQ_OQ));
      if (hit) {
        max = x[j + __builtin_ctz(static_cast<unsigned>(hit))];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m256 is = _mm256_set1_ps(iscale);
    const __m256i lim = _mm256_set1_epi32(127);
    for (int j = 0; j < 256; j += 32) {
      __m256i i[4];
      for (int u = 0; u < 4; ++u)
        i[u] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(is, _mm256_loadu_ps(x + j + 8 * u))), lim);
      pack32(i[0], i[1], i[2], i[3], q + j);
      bsum[b * 16 + j / 16] = hsum8(_mm256_add_epi32(i[0], i[1]));
      bsum[b * 16 + j / 16 + 1] = hsum8(_mm256_add_epi32(i[2], i[3]));
    }
    d[b] = 1 / iscale;
  }
}

// Row-streaming kernels by ggml type; false for a type without one.
template <class V>
bool rows_any(uint32_t type, const void* wv, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y, int64_t ldy) {
  const auto* w = static_cast<const uint8_t*>(wv);
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::Q8_0: rows_legacy<V, Legacy::Q8_0>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q4_0: rows_legacy<V, Legacy::Q4_0>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q4_1: rows_legacy<V, Legacy::Q4_1>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q5_0: rows_legacy<V, Legacy::Q5_0>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q5_1: rows_legacy<V, Legacy::Q5_1>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::IQ4_NL: rows_legacy<V, Legacy::IQ4_NL>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q2_K: rows_k<V, KType::Q2_K>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q3_K: rows_k<V, KType::Q3_K>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q4_K: rows_k<V, KType::Q4_K>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q5_K: rows_k<V, KType::Q5_K>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::Q6_K: rows_k<V, KType::Q6_K>(w, row_bytes, a, m0, m1, y, ldy); return true;
    case GgmlType::IQ4_XS:
      if constexpr (!V::kWide) return false;  // codes up to 241 would saturate vpmaddubsw
      rows_k<V, KType::IQ4_XS>(w, row_bytes, a, m0, m1, y, ldy);
      return true;
    default: return false;
  }
}

}  // namespace detail
