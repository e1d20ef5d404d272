// CPU feature detection (__builtin_cpu_supports) and the active kernel set.
#include "backends/cpu/cpu_features.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace cpplm::cpu {
namespace {

Isa initial_isa() {
  if (const char* e = std::getenv("CPPLM_ISA")) {
    const std::string s = e;
    Isa want = s == "scalar" ? Isa::Scalar : s == "avx2" ? Isa::Avx2 : s == "avx512" ? Isa::Avx512 : best_isa();
    if (isa_supported(want)) return want;
  }
  return best_isa();
}

std::atomic<int>& active() {
  static std::atomic<int> a{static_cast<int>(initial_isa())};
  return a;
}

}  // namespace

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "?";
}

namespace {
// F16C from CPUID leaf 1 (ECX bit 29): clang 14's __builtin_cpu_supports has no "f16c".
bool has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
}
}  // namespace

bool isa_supported(Isa isa) {
  __builtin_cpu_init();
  switch (isa) {
    case Isa::Scalar: return true;
    case Isa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
    case Isa::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vnni") &&
             has_f16c();
  }
  return false;
}

Isa best_isa() {
  static const Isa best = isa_supported(Isa::Avx512) ? Isa::Avx512 : isa_supported(Isa::Avx2) ? Isa::Avx2 : Isa::Scalar;
  return best;
}

Isa active_isa() { return static_cast<Isa>(active().load(std::memory_order_relaxed)); }

namespace {
bool env_on(const char* name) {
  const char* e = std::getenv(name);
  return e != nullptr && std::string(e) != "" && std::string(e) != "0";
}
std::atomic<bool>& exact_flag() {
  static std::atomic<bool> f{env_on("CPPLM_EXACT_QUANT")};
  return f;
}
std::atomic<bool>& bf16_flag() {
  static std::atomic<bool> f{env_on("CPPLM_BF16_DOT")};
  return f;
}
}  // namespace

bool amx_supported() {
  static const bool ok = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    if ((edx & (1u << 24)) == 0 || (edx & (1u << 25)) == 0) return false;  // AMX-TILE, AMX-INT8
    if (!isa_supported(Isa::Avx512)) return false;
    // XCR0 bits 17 and 18 (tile configuration and data): the kernel manages the state.
    uint32_t lo = 0, hi = 0;
    asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return false;
#if defined(__linux__) && defined(SYS_arch_prctl)
    constexpr long kReqXcompPerm = 0x1023, kXfeatureTileData = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureTileData) == 0;
#else
    return false;
#endif
  }();
  return ok;
}

namespace {
std::atomic<bool>& amx_flag() {
  static std::atomic<bool> f{[] {
    const char* e = std::getenv("CPPLM_AMX");
    return amx_supported() && !(e != nullptr && std::string(e) == "0");
  }()};
  return f;
}
}  // namespace

bool amx() { return amx_flag().load(std::memory_order_relaxed); }
void set_amx(bool on) {
  if (on && !amx_supported()) throw Error("this CPU or its kernel does not provide AMX-INT8");
  amx_flag().store(on);
}

bool exact_quant() { return exact_flag().load(std::memory_order_relaxed); }
void set_exact_quant(bool exact) { exact_flag().store(exact); }
bool bf16_dot() { return bf16_flag().load(std::memory_order_relaxed); }
void set_bf16_dot(bool on) { bf16_flag().store(on); }

void set_active_isa(Isa isa) {
  if (!isa_supported(isa)) throw Error("this CPU does not support " + std::string(isa_name(isa)) + " kernels");
  active().store(static_cast<int>(isa));
}

}  // namespace cpplm::cpu
