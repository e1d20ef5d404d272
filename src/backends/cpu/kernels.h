// CPU kernel interface: one table of kernels per instruction set, picked at run time (cpu_features.h).
#pragma once
#include <cstdint>
#include <vector>

#include "backends/cpu/cpu_features.h"
#include "core/dtype.h"

namespace cpplm::cpu {

// A weight matrix W [m, k] in any storage. Float: `w` holds F32/F16/BF16 elements row-major.
// mlx affine-quantized (bits > 0): `w` is U32 [m, k*bits/32], values packed little-endian from the
// lowest bit; scales/biases [m, k/group] of dtype `sb_dtype`; W[r, c] = scale·q + bias.
struct MatRef {
  const void* w = nullptr;
  DType dtype = DType::F32;
  int64_t m = 0, k = 0;
  int bits = 0, group = 0;
  const void* scales = nullptr;
  const void* biases = nullptr;
  DType sb_dtype = DType::F32;
  // Keep f32 activations even where int8 or bf16 ones would apply (attention over the K/V cache:
  // scores and value sums stay exact).
  bool exact = false;
  bool quantized() const { return bits > 0; }
};

// One product's activations on the int8 paths (int8_acts(w, n)), prepared once by Kernels::prepare_int8
// and then read by every thread running a row range of the product: the codes in the order the ISA's
// kernel reads them (decode: q; prefill: `panel`, int32 quads, laid out for the AMX tiles where `amx`),
// block scales, group sums (the scalar table keeps x).
struct Int8Acts {
  std::vector<int8_t> q;
  std::vector<int32_t> panel;
  std::vector<float> d, xs;
  int64_t ldq = 0, ldd = 0, ldxs = 0;  // per token, in elements (decode)
  const float* x = nullptr;
  int n = 0;
  int group = 0;     // prefill: the group size it was prepared for
  bool amx = false;  // prefill: the panel is laid out for AMX tiles
};

struct Kernels {
  // y[i*ldy + r] = Σ_c x[i*k + c]·W[r, c] for rows r in [m0, m1), tokens i < n. One thread;
  // callers split rows across threads. Small n streams W once; large n blocks for cache reuse.
  void (*matmul)(const MatRef& w, const float* x, int n, int64_t m0, int64_t m1, float* y, int64_t ldy);
  // The int8 decode and prefill in two steps, so that x is quantized once per product rather than
  // once per row range: prepare_int8 (called by one thread; the prefill's may use the pool) fills `a`
  // from x [n, k], then matmul_int8 computes rows [m0, m1) from it (from any thread; `a` and x stay
  // unchanged meanwhile). Only where int8_acts(w, n); the results equal matmul's bit for bit.
  void (*prepare_int8)(const MatRef& w, const float* x, int n, Int8Acts& a);
  void (*matmul_int8)(const MatRef& w, const Int8Acts& a, int64_t m0, int64_t m1, float* y, int64_t ldy);
  // W[r, k0 .. k0+cnt) as f32 (embedding gather, tests).
  void (*dequant)(const MatRef& w, int64_t r, int64_t k0, int64_t cnt, float* out);
  float (*dot)(const float* a, const float* b, int64_t n);
  void (*axpy)(float a, const float* x, float* y, int64_t n);  // y += a·x
  void (*scale)(float* y, float a, int64_t n);                 // y *= a
  // Attention over a tile of keys: out[j] = scale · q·rows[j] for j < cnt (rows of length d) ...
  void (*dots)(const float* q, const float* const* rows, int cnt, int d, float scale, float* out);
  // ... and acc += Σ_j w[j]·rows[j].
  void (*axpys)(const float* w, const float* const* rows, int cnt, int d, float* acc);
  // Softmax numerators: s[j] = exp(s[j] - m) for j < n (s[j] <= m; -inf gives 0), returns Σ s[j].
  float (*exp_sum)(float* s, int n, float m);
  // out[i] = silu(gate[i])·up[i], silu(g) = g / (1 + exp(−g)) (the SIMD tables: the softmax's polynomial exp,
  // within 1e-6 relative of double precision).
  void (*silu_mul)(const float* gate, const float* up, int64_t n, float* out);
};

// The table of `isa` (must be supported by this CPU), or of active_isa().
const Kernels& kernels(Isa isa);
const Kernels& kernels();

// Prefill with 4/8-bit weights (n >= kInt8MinTokens tokens, group 32, 64 or 128) runs on int8
// activations unless exact_quant(): each token's activations are quantized per block of
// kActBlock columns to round(x / d), d = max|x| / 127, and kept with exact f32 group sums Σx;
// y = Σ_blocks s·d·(Σ q·a) + Σ_groups b·Σx (integer dot products). Every ISA computes the same.
constexpr int kInt8MinTokens = 16;
constexpr int kActBlock = 32;
// Weights the int8-activation paths take: 4/8-bit codes in groups of 32, 64 or 128, unless the
// MatRef asks to stay exact (the 8-bit K/V cache: attention scores stay f32 · dequantized keys).
inline bool int8_weights(const MatRef& w) {
  return !w.exact && (w.bits == 4 || w.bits == 8) && (w.group == 32 || w.group == 64 || w.group == 128);
}
inline bool int8_prefill(const MatRef& w, int n) { return n >= kInt8MinTokens && int8_weights(w) && !exact_quant(); }
// Decode (1 <= n < kInt8MinTokens) with the same weights: the same activation quantization and the
// same sums, computed token by token (streaming W once per tile of tokens); each token's result is
// bit-identical whatever n and the row range are (batch invariance: ops/linear.h linear_exact_rows).
inline bool int8_decode(const MatRef& w, int n) { return n >= 1 && n < kInt8MinTokens && int8_weights(w) && !exact_quant(); }
// Either int8 path (the scalar reference, matmul_int8_ref, serves both).
inline bool int8_acts(const MatRef& w, int n) { return int8_prefill(w, n) || int8_decode(w, n); }

// Per-ISA tables (defined in kernels_<isa>.cpp; reference in ref_kernels.cpp).
const Kernels& kernels_scalar();
const Kernels& kernels_avx2();
const Kernels& kernels_avx512();

// Scalar reading of one scale/bias value.
inline float load_scalar(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    default: return static_cast<const float*>(p)[i];
  }
}

}  // namespace cpplm::cpu
