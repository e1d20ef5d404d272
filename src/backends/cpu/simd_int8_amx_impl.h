// The int8 prefill tile (simd_int8_impl.h micro_int8) with its integer products on AMX: one TDPBUSD
// multiplies 16 weight rows' 32 codes (u8) by 16 tokens' 32 activations (s8) into 16 × 16 int32
// sums, exactly the sums vpdpbusd forms, and the f32 steps after them are micro_int8's, in its
// order, so the result is bit for bit the vector path's. Included by simd_int8_impl.h inside the
// AVX-512 namespace when compiled with AMX-INT8 (cmake/layers.cmake), after amx_tiles.h; used only
// while amx() holds, inside an amx_int8::Tiles scope. No include guard on purpose.

// micro_int8 for a tile of 16 rows × 16 tokens (same arguments, and the row stride ldq of the
// activation quads); the f32 sums stay in registers over the k block.
template <int G>
void micro_int8_amx(const uint8_t* wt, const float* sc, const float* bi, const int32_t* xq, int64_t ldq, const float* xd,
                    const float* xs, int64_t ld, int kc, float* yt, int64_t ldy, bool first) {
  static_assert(W == 16);
  const int nb = kc / kAB, ng = kc / G;
  V acc[16];
#pragma GCC unroll 16
  for (int r = 0; r < 16; ++r) acc[r] = first ? S::zero() : S::load(yt + r * ldy);
  const int64_t ldb = ldq * static_cast<int64_t>(sizeof(int32_t));
  alignas(64) int32_t c[2][16 * 16];
  using namespace amx_int8;
  for (int b = 0; b < nb + kUseLag; ++b) {  // the schedule of amx_tiles.h
    if (b < nb) issue(b % 4, wt + b * 16 * kAB, kAB, xq + b * (kAB / 4) * ldq, ldb);
    if (b >= kStoreLag && b - kStoreLag < nb) store((b - kStoreLag) % 4, c[(b - kStoreLag) % 2]);
    const int e = b - kUseLag;
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
