// AMX-INT8 tile primitives shared by the int8 prefill tiles (simd_int8_amx_impl.h for mlx 4/8-bit
// weights, ggml_qdot_avx512.cpp for ggml's blocks and super-blocks): 16 weight rows' 32 code bytes (u8,
// or s8) by 16 tokens' 32 activations (s8, as 8 rows of 16 tokens' 4-byte quads) into 16 × 16 int32
// sums, the sums vpdpbusd forms. Use only where cpu::amx() holds, from AVX-512 code.
#pragma once
#include <cstdint>

namespace cpplm::cpu::amx_int8 {

// A thread's tile configuration, loaded on construction and released (the tile state cleared, so
// context switches do not save it) on destruction. Four slots of blocks in flight: C tiles 0, 3, 6,
// 7 (16 rows × 16 int32 each); slots 0 and 2 load their operands into A tile 1 and B tile 2, slots
// 1 and 3 into 4 and 5. A: 16 rows × `depth` bytes; B: depth / 4 rows × 64 bytes (depth 32, or 16 for
// weights with a scale per 16 columns).
struct Tiles {
  struct Shape {
    uint8_t rows;
    uint16_t bytes;  // per row
  };
  explicit Tiles(int depth = 32)
      : Tiles({Shape{16, 64}, Shape{16, static_cast<uint16_t>(depth)}, Shape{static_cast<uint8_t>(depth / 4), 64}, Shape{16, 64},
               Shape{16, static_cast<uint16_t>(depth)}, Shape{static_cast<uint8_t>(depth / 4), 64}, Shape{16, 64},
               Shape{16, 64}}) {}
  // Any configuration of tiles 0-7 (a kernel with its own use of them).
  explicit Tiles(const Shape (&shapes)[8]) {
    struct alignas(64) Config {
      uint8_t palette = 1, start_row = 0, reserved[14] = {};
      uint16_t colsb[16] = {};
      uint8_t rows[16] = {};
    } c;
    for (int t = 0; t < 8; ++t) c.rows[t] = shapes[t].rows, c.colsb[t] = shapes[t].bytes;
    // (GCC 12's _tile_loadconfig lets the stores above be dropped as dead: the asm names the bytes it reads.)
    asm volatile("ldtilecfg %0" : : "m"(c));
  }
  ~Tiles() { asm volatile("tilerelease" ::: "memory"); }
  Tiles(const Tiles&) = delete;
  Tiles& operator=(const Tiles&) = delete;
};

// A block's product on a slot (A rows at stride lda bytes, B rows at ldb): tdpbusd (unsigned A bytes) or, with
// kSigned, tdpbssd (signed A bytes); and the slot's sums stored to c (16 rows × 16 int32, rows 64 bytes apart). In
// asm of our own rather than GCC 12's tile intrinsics: those name no memory, so the compiler could move the stores
// that fill a tile's operands after its load, or the reads of c before the tile store.
#define CPPLM_AMX_SLOT(N, C, A, B, OP, NAME)                                                     \
  inline void NAME##N(const void* a, int64_t lda, const void* b, int64_t ldb) {                  \
    asm volatile("tilezero %%tmm" #C                                                             \
                 "\n\t"                                                                          \
                 "tileloadd (%0,%1,1), %%tmm" #A                                                 \
                 "\n\t"                                                                          \
                 "tileloadd (%2,%3,1), %%tmm" #B "\n\t" OP " %%tmm" #B ", %%tmm" #A ", %%tmm" #C \
                 :                                                                               \
                 : "r"(a), "r"(lda), "r"(b), "r"(ldb)                                            \
                 : "memory");                                                                    \
  }
#define CPPLM_AMX_SLOTS(N, C, A, B)              \
  CPPLM_AMX_SLOT(N, C, A, B, "tdpbusd", issue_u) \
  CPPLM_AMX_SLOT(N, C, A, B, "tdpbssd", issue_s) \
  inline void store##N(int32_t* c) { asm volatile("tilestored %%tmm" #C ", (%0,%1,1)" : : "r"(c), "r"(int64_t{64}) : "memory"); }
CPPLM_AMX_SLOTS(0, 0, 1, 2)
CPPLM_AMX_SLOTS(1, 3, 4, 5)
CPPLM_AMX_SLOTS(2, 6, 1, 2)
CPPLM_AMX_SLOTS(3, 7, 4, 5)
#undef CPPLM_AMX_SLOTS
#undef CPPLM_AMX_SLOT

template <bool kSigned = false>
inline void issue(int slot, const void* a, int64_t lda, const void* b, int64_t ldb) {
  switch (slot) {
    case 0: return kSigned ? issue_s0(a, lda, b, ldb) : issue_u0(a, lda, b, ldb);
    case 1: return kSigned ? issue_s1(a, lda, b, ldb) : issue_u1(a, lda, b, ldb);
    case 2: return kSigned ? issue_s2(a, lda, b, ldb) : issue_u2(a, lda, b, ldb);
    default: return kSigned ? issue_s3(a, lda, b, ldb) : issue_u3(a, lda, b, ldb);
  }
}
inline void store(int slot, int32_t* c) {
  switch (slot) {
    case 0: return store0(c);
    case 1: return store1(c);
    case 2: return store2(c);
    default: return store3(c);
  }
}

// The schedule both tiles follow over their blocks: block b's product is issued, b - 2's sums
// stored (to two alternating buffers) and b - 3's used, so a tile's sums are stored after the tile
// unit has the next products and read a block after they were stored. (Written out in each tile:
// behind a lambda, GCC 12 keeps the tile's 16 f32 sums on the stack instead of in registers.)
constexpr int kStoreLag = 2, kUseLag = 3;

}  // namespace cpplm::cpu::amx_int8
