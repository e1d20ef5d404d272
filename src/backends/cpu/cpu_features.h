// Run-time choice of the CPU instruction set for the SIMD kernels (the one place that decides).
#pragma once
#include <string_view>

namespace cpplm::cpu {

enum class Isa { Scalar, Avx2, Avx512 };

std::string_view isa_name(Isa isa);
// Best instruction set this CPU supports among the compiled ones (AVX-512 needs F/BW/VL/DQ/BF16/VNNI).
Isa best_isa();
bool isa_supported(Isa isa);
// The set in use: best_isa() unless CPPLM_ISA=scalar|avx2|avx512 or set_active_isa() chose another.
Isa active_isa();
// Forces a set (tests, benchmarks); throws Error when the CPU lacks it.
void set_active_isa(Isa isa);

// Exact quantized matmuls: when true, prefill and decode with 4/8-bit weights keep f32 activations
// (dequantize-then-f32 within 1e-5) instead of int8 activations. Starts as CPPLM_EXACT_QUANT=1
// (read once); set_exact_quant overrides it (tests).
bool exact_quant();
void set_exact_quant(bool exact);

// Prefill with bf16 weights on bf16 dot products (AVX-512 BF16): activations rounded to bf16, about
// twice the f32 FMA path's arithmetic rate. Off by default; starts as CPPLM_BF16_DOT=1 (read once),
// set_bf16_dot overrides it (tests, benchmarks). Decode (fewer than 16 rows) keeps f32 activations.
bool bf16_dot();
void set_bf16_dot(bool on);

// Int8 prefill tiles on AMX (Sapphire Rapids and later): the AVX-512 kernels run each 16-row × 16-token
// × 32-column integer product of kernels.h's int8 prefill as one AMX instruction instead of 128
// vpdpbusd; the result is bit for bit the same. amx_supported(): the CPU has AMX-TILE and AMX-INT8,
// the kernel enables their state, and this process was granted it (arch_prctl, asked once).
// amx(): in use, on wherever supported unless CPPLM_AMX=0; set_amx overrides it (tests, benchmarks).
bool amx_supported();
bool amx();
void set_amx(bool on);

}  // namespace cpplm::cpu
