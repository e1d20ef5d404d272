// The int8 prefill tile (simd_int8_impl.h micro_int8) with its integer products on AMX: one TDPBUSD
// multiplies 16 weight rows' 32 codes (u8) by 16 tokens' 32 activations (s8) into 16 × 16 int32
// sums, exactly the sums vpdpbusd forms, and the f32 steps after them are micro_int8's, in its
// order, so the result is bit for bit the vector path's. Included by simd_int8_impl.h inside the
// AVX-512 namespace when compiled with AMX-INT8 (cmake/layers.cmake); used only while amx() holds.
// No include guard on purpose.

// A thread's tile configuration for the int8 tile, loaded on construction and released (the
// tile state cleared, so context switches do not save it) on destruction. Four slots of blocks in
// flight: C tiles 0, 3, 6, 7 (16 rows × 16 int32 sums each), slots 0 and 2 loading their operands
// into A tile 1 and B tile 2, slots 1 and 3 into 4 and 5. A: 16 weight rows × 32 code bytes; B: 8
// rows of 16 tokens' 4-byte activation quads (the panel layout, [k/4][tokens]).
struct AmxTiles {
  AmxTiles() {
    struct alignas(64) Config {
      uint8_t palette = 1, start_row = 0, reserved[14] = {};
      uint16_t colsb[16] = {};
      uint8_t rows[16] = {};
    } c;
    for (int t : {0, 3, 6, 7}) c.rows[t] = 16, c.colsb[t] = 64;
    for (int t : {1, 4}) c.rows[t] = 16, c.colsb[t] = kAB;
    for (int t : {2, 5}) c.rows[t] = kAB / 4, c.colsb[t] = 64;
    // (GCC 12's _tile_loadconfig lets the stores above be dropped as dead: the asm names the bytes it reads.)
    asm volatile("ldtilecfg %0" : : "m"(c));
  }
  ~AmxTiles() { asm volatile("tilerelease" ::: "memory"); }
  AmxTiles(const AmxTiles&) = delete;
  AmxTiles& operator=(const AmxTiles&) = delete;
};

// Block b's product on a slot, and the slot's sums stored to c (16 rows × 16 tokens). In asm of
// our own rather than GCC 12's tile intrinsics: those name no memory, so the compiler could move
// the stores that fill a tile's operands after its load, or the reads of c before the tile store.
#define CPPLM_AMX_SLOT(N, C, A, B)                                                                     \
  inline void amx_issue##N(const uint8_t* wt, const int32_t* xq, int64_t ldq, int b) {                 \
    asm volatile("tilezero %%tmm" #C "\n\t"                                                             \
                 "tileloadd (%0,%1,1), %%tmm" #A "\n\t"                                                 \
                 "tileloadd (%2,%3,1), %%tmm" #B "\n\t"                                                 \
                 "tdpbusd %%tmm" #B ", %%tmm" #A ", %%tmm" #C                                          \
                 :                                                                                     \
                 : "r"(wt + b * 16 * kAB), "r"(static_cast<int64_t>(kAB)), "r"(xq + b * (kAB / 4) * ldq), \
                   "r"(ldq * static_cast<int64_t>(sizeof(int32_t)))                                    \
                 : "memory");                                                                          \
  }                                                                                                    \
  inline void amx_store##N(int32_t* c) {                                                               \
    asm volatile("tilestored %%tmm" #C ", (%0,%1,1)" : : "r"(c), "r"(int64_t{64}) : "memory");          \
  }
CPPLM_AMX_SLOT(0, 0, 1, 2)
CPPLM_AMX_SLOT(1, 3, 4, 5)
CPPLM_AMX_SLOT(2, 6, 1, 2)
CPPLM_AMX_SLOT(3, 7, 4, 5)
#undef CPPLM_AMX_SLOT

inline void amx_issue(int slot, const uint8_t* wt, const int32_t* xq, int64_t ldq, int b) {
  switch (slot) {
    case 0: return amx_issue0(wt, xq, ldq, b);
    case 1: return amx_issue1(wt, xq, ldq, b);
    case 2: return amx_issue2(wt, xq, ldq, b);
    default: return amx_issue3(wt, xq, ldq, b);
  }
}
inline void amx_store(int slot, int32_t* c) {
  switch (slot) {
    case 0: return amx_store0(c);
    case 1: return amx_store1(c);
    case 2: return amx_store2(c);
    default: return amx_store3(c);
  }
}

// micro_int8 for a tile of 16 rows × 16 tokens (same arguments, and the row stride ldq of the
// activation quads); the f32 sums stay in registers over the k block.
template <int G>
void micro_int8_amx(const uint8_t* wt, const float* sc, const float* bi, const int32_t* xq, int64_t ldq, const float* xd,
                    const float* xs, int64_t ld, int kc, float* yt, int64_t ldy, bool first) {
  static_assert(W == 16);
  const int nb = kc / kAB, ng = kc / G;
  alignas(64) int32_t c[2][16 * 16];
  V acc[16];
#pragma GCC unroll 16
  for (int r = 0; r < 16; ++r) acc[r] = first ? S::zero() : S::load(yt + r * ldy);
  // Block b's product is issued, b - 2's sums stored and b - 3's scaled (micro_int8's steps): a
  // tile's sums are stored after the tile unit has the next products, and read a block later.
  for (int b = 0; b < nb + 3; ++b) {
    if (b < nb) amx_issue(b % 4, wt, xq, ldq, b);
    if (b >= 2 && b - 2 < nb) amx_store((b - 2) % 4, c[(b - 2) % 2]);
    const int e = b - 3;
    if (e < 0 || e >= nb) continue;
    const int32_t* sums = c[e % 2];
    const V dv = S::load(xd + e * ld);
    if ((e + 1) % (G / kAB) == 0) {  // a group's end: its bias times the tokens' group sums first
      const int g = e / (G / kAB);
      const V sv = S::load(xs + g * ld);
#pragma GCC unroll 16
      for (int r = 0; r < 16; ++r) {
        const V t = S::fma(S::set1(bi[r * ng + g]), sv, acc[r]);
        acc[r] = S::fma(S::cvt(S::iload(sums + r * 16)), S::mul(S::set1(sc[r * nb + e]), dv), t);
      }
    } else {
#pragma GCC unroll 16
      for (int r = 0; r < 16; ++r) acc[r] = S::fma(S::cvt(S::iload(sums + r * 16)), S::mul(S::set1(sc[r * nb + e]), dv), acc[r]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < 16; ++r) S::store(yt + r * ldy, acc[r]);
}
