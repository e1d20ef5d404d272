// Integer dot products of ggml block-format weights with quantized activations, as llama.cpp's CPU backend
// computes them: activations quantized to q8_0 / q8_1 (blocks of 32) or q8_K (blocks of 256), integer dot
// products per block, then the block scales in f32.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "backends/cpu/cpu_features.h"

namespace cpplm::cpu {

// The activation format each weight type is dotted with (ggml's vec_dot_type).
enum class GgmlActKind { Q8_0, Q8_1, Q8_K };

// Activations of n tokens × k columns quantized for one weight type. Codes token-major; per block of 32 (q8_0,
// q8_1) or 256 (q8_K) a scale `d` as ggml uses it (q8_0/q8_1: the f32 value of the stored f16; q8_K: f32);
// q8_1 also `s` = the f32 value of the stored f16 of d·Σq; `bsum` = exact Σq per 16 columns (q8_K's bsums; kept
// for every kind, the SIMD kernels use it for the offsets of unsigned codes).
struct GgmlActs {
  GgmlActKind kind = GgmlActKind::Q8_0;
  int n = 0;
  int64_t k = 0;
  int block = 32;                // columns per scale
  std::vector<int8_t> q;         // [n][k]
  std::vector<float> d;          // [n][k / block]
  std::vector<float> s;          // [n][k / 32], q8_1 only
  std::vector<int32_t> bsum;     // [n][k / 16]
  // n >= kGgmlPanelMin: the tokens as lanes for the prefill kernels, per group of 16 tokens and block of 32
  // columns a GgmlPanelBlock (tokens past n zero).
  std::vector<uint8_t> panel;
  const int8_t* codes(int t) const { return q.data() + static_cast<int64_t>(t) * k; }
  const float* scales(int t) const { return d.data() + static_cast<int64_t>(t) * (k / block); }
  const float* sums(int t) const { return s.data() + static_cast<int64_t>(t) * (k / 32); }
  const int32_t* bsums(int t) const { return bsum.data() + static_cast<int64_t>(t) * (k / 16); }
};

constexpr int kGgmlPanelMin = 16;
struct GgmlPanelBlock {
  int8_t q[8][16][4];  // columns 4c..4c+3 of token lane l at q[c][l]
  int32_t sum[16];     // Σq of the block
  int32_t sum_lo[16];  // Σq of its first 16 columns
  float d[16];         // the token's scale of this block (q8_K: of its super-block)
  float s[16];         // q8_1 only
};
static_assert(sizeof(GgmlPanelBlock) == 768);
inline const GgmlPanelBlock* ggml_panel(const GgmlActs& a, int group) {
  return reinterpret_cast<const GgmlPanelBlock*>(a.panel.data()) + static_cast<int64_t>(group) * (a.k / 32);
}

// The activation kind of a ggml weight type; throws Error for a type without a dot product.
GgmlActKind ggml_act_kind(uint32_t type);

// Quantizes x [n, k] for weights of `type` into `out` (reusing its storage). q8_0 and q8_1 follow the quantizer
// llama.cpp's CPU backend runs on x86 (quantize_row_q8_0/q8_1 of ggml-cpu/arch/x86/quants.c): d = amax/127 stored
// as f16, codes = round-half-even(x · (127/amax)); q8_1 adds s = f16(d · Σq). (ggml's portable
// quantize_row_q8_0_ref differs only in rounding halves away from zero and multiplying by 1/d.) q8_K follows
// quantize_row_q8_K_ref (also what x86 runs): the element of largest magnitude `max`, iscale = -127/max,
// codes = min(127, round-half-even(iscale·x)), d = 1/iscale in f32, bsums per 16.
void ggml_quantize_acts(uint32_t type, const float* x, int n, int64_t k, GgmlActs* out);

// The scalar reference: ggml's generic ggml_vec_dot_<type>_q8_<x> (ggml-cpu/quants.c, *_generic), same integer
// sums and the same f32 operations in the same order, for row `w` (k/block_elems blocks) and token t of `a`.
float ggml_vec_dot_ref(uint32_t type, const uint8_t* w, const GgmlActs& a, int t);

// y[t*ldy + r] = Σ dot(W row r, token t) for r in [m0, m1), t < a.n, with the reference dot.
void ggml_matmul_q_ref(uint32_t type, const void* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y,
                       int64_t ldy);

// Per-ISA kernels (ggml_qdot_<isa>.cpp): the same results as ggml_matmul_q_ref (integer sums exactly; the f32
// combination exactly for Q8_0/Q4_0, in the reference's order, and within a few ulp of Σ|terms| for the others).
// A token's result does not depend on a.n or on [m0, m1). Return false for a type they do not cover.
bool ggml_matmul_q_avx512(uint32_t type, const void* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y,
                          int64_t ldy);
bool ggml_matmul_q_avx2(uint32_t type, const void* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y,
                        int64_t ldy);

// One token's activations on that ISA (the same values as the scalar quantizer); s may be null except for q8_1.
void ggml_quantize_token_avx512(GgmlActKind kind, const float* x, int64_t k, int8_t* q, float* d, float* s, int32_t* bsum);
void ggml_quantize_token_avx2(GgmlActKind kind, const float* x, int64_t k, int8_t* q, float* d, float* s, int32_t* bsum);

// Dispatch on `isa` (Scalar = the reference).
void ggml_matmul_q(Isa isa, uint32_t type, const void* w, size_t row_bytes, const GgmlActs& a, int64_t m0, int64_t m1, float* y,
                   int64_t ldy);

}  // namespace cpplm::cpu
