// The int8-activation decode path for 4/8-bit weights (kernels.h int8_decode, n < 16 tokens): every
// ISA against the scalar reference, batch invariance (a token's outputs are bit-identical whatever n
// and the row ranges are), its error against dequantize-then-f32, and the exact mode's switch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/kernels.h"
#include "backends/cpu/ref_kernels.h"
#include "core/dtype.h"
#include "test_util.h"

namespace cpplm {
namespace {

using test::isas;

std::mt19937& rng() {
  static std::mt19937 r(std::random_device{}());
  return r;
}

// Random 4/8-bit codes with scales (~0.05) and biases (~0.5) stored as `sb`: weights of mixed sign.
struct QuantMat {
  std::vector<uint8_t> w, s, b;
  cpu::MatRef ref;
  QuantMat(int64_t m, int64_t k, int bits, int group, DType sb) {
    w.resize(m * k * bits / 8);
    for (uint8_t& x : w) x = static_cast<uint8_t>(rng()());
    const int64_t g = m * k / group;
    s.resize(g * dtype_size(sb));
    b.resize(g * dtype_size(sb));
    std::normal_distribution<float> ds(0.0f, 0.05f), db(0.0f, 0.5f);
    for (int64_t i = 0; i < g; ++i) {
      const float sv = ds(rng()), bv = db(rng());
      if (sb == DType::F32) {
        reinterpret_cast<float*>(s.data())[i] = sv;
        reinterpret_cast<float*>(b.data())[i] = bv;
      } else {
        reinterpret_cast<uint16_t*>(s.data())[i] = sb == DType::BF16 ? f32_to_bf16(sv) : f32_to_f16(sv);
        reinterpret_cast<uint16_t*>(b.data())[i] = sb == DType::BF16 ? f32_to_bf16(bv) : f32_to_f16(bv);
      }
    }
    ref = cpu::MatRef{w.data(), DType::U32, m, k, bits, group, s.data(), b.data(), sb};
  }
};

// Exact mode restored at scope exit (tests may run in any order).
struct ExactMode {
  bool saved = cpu::exact_quant();
  explicit ExactMode(bool on) { cpu::set_exact_quant(on); }
  ~ExactMode() { cpu::set_exact_quant(saved); }
};

// Activations like a transformer's: normal with a few large channels (and an all-zero block).
std::vector<float> activations(int n, int64_t k) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> x(n * k);
  for (int64_t i = 0; i < n * k; ++i) x[i] = d(rng()) * (i % k % 97 == 5 ? 8.0f : 1.0f);
  if (k >= 64)
    for (int i = 0; i < n; i += 2) std::fill_n(x.begin() + i * k + 32, 32, 0.0f);
  return x;
}

std::string name(cpu::Isa isa, const cpu::MatRef& w, int n) {
  return std::string(cpu::isa_name(isa)) + " q" + std::to_string(w.bits) + " g" + std::to_string(w.group) + " " +
         std::string(dtype_name(w.sb_dtype)) + " m=" + std::to_string(w.m) + " k=" + std::to_string(w.k) +
         " n=" + std::to_string(n);
}

// |y - yref| <= tol · Σ_c |x_c|·(|s·q_c| + |b|) (the magnitude of the terms summed) for every output.
void expect_close_terms(const cpu::MatRef& w, const float* x, int n, const float* y, const float* yref, double tol,
                        const std::string& what) {
  const int64_t groups = w.k / w.group;
  int bad = 0;
  for (int64_t r = 0; r < w.m; ++r)
    for (int i = 0; i < n; ++i) {
      double mag = 0;
      for (int64_t c = 0; c < w.k; ++c) {
        const int64_t g = r * groups + c / w.group;
        const double s = cpu::load_scalar(w.scales, w.sb_dtype, g), b = cpu::load_scalar(w.biases, w.sb_dtype, g);
        mag += std::fabs(x[i * w.k + c]) * (std::fabs(s * cpu::quant_code(w, r, c)) + std::fabs(b));
      }
      const double d = std::fabs(static_cast<double>(y[i * w.m + r]) - yref[i * w.m + r]);
      if (!(d <= tol * mag + 1e-30) && bad++ < 3)
        ADD_FAILURE() << what << " row " << r << " token " << i << ": " << y[i * w.m + r] << " vs " << yref[i * w.m + r]
                      << " (tolerance " << tol * mag << ")";
    }
}

// m not a multiple of any row step; k from one group to several windows of 16 groups, with and
// without a partial last chunk (k % 128 != 0).
std::vector<int64_t> row_counts() { return {1, 3, 6, 19}; }
std::vector<int64_t> group_counts(int group) {
  if (group == 32) return {1, 3, 4, 17, 36};
  if (group == 64) return {1, 3, 18};
  return {1, 2, 17};
}

TEST(Int8Decode, MatchesItsScalarReference) {
  ExactMode mode(false);
  for (cpu::Isa isa : isas())
    for (int bits : {4, 8})
      for (int group : {32, 64, 128})
        for (int64_t m : row_counts())
          for (int64_t kg : group_counts(group))
            for (int n : {1, 2, 3, 4, 5, 7, 15}) {
              const DType sb = n % 3 == 0 ? DType::F32 : n % 3 == 1 ? DType::BF16 : DType::F16;
              QuantMat w(m, group * kg, bits, group, sb);
              ASSERT_TRUE(cpu::int8_decode(w.ref, n));
              ASSERT_FALSE(cpu::int8_prefill(w.ref, n));
              const std::vector<float> x = activations(n, w.ref.k);
              std::vector<float> y(n * m, NAN), yref(n * m);
              const int64_t mid = m / 2;  // two row ranges, as two threads would split them
              cpu::kernels(isa).matmul(w.ref, x.data(), n, 0, mid, y.data(), m);
              cpu::kernels(isa).matmul(w.ref, x.data(), n, mid, m, y.data(), m);
              cpu::matmul_int8_ref(w.ref, x.data(), n, 0, m, yref.data(), m);
              // Integer sums are exact; only the f32 combination order differs.
              expect_close_terms(w.ref, x.data(), n, y.data(), yref.data(), 1e-5, name(isa, w.ref, n));
            }
}

// A token's outputs are bit-identical alone (n = 1) and at any place in a call of n = 2..15 tokens,
// whatever row ranges the rows are split into (threads), with activations prepared per range or once.
TEST(Int8Decode, BatchInvariant) {
  ExactMode mode(false);
  for (cpu::Isa isa : isas()) {
    const cpu::Kernels& kern = cpu::kernels(isa);
    for (int bits : {4, 8})
      for (int group : {32, 64, 128})
        for (int64_t m : {7, 37}) {
          QuantMat w(m, group * (group == 32 ? 17 : 5), bits, group, DType::BF16);
          const int64_t k = w.ref.k;
          const std::vector<float> x = activations(15, k);
          std::vector<float> alone(15 * m);
          for (int i = 0; i < 15; ++i) kern.matmul(w.ref, x.data() + i * k, 1, 0, m, alone.data() + i * m, m);
          for (int n = 1; n <= 15; ++n)
            for (int t0 : {0, 15 - n}) {  // tokens [t0, t0 + n) in one call
              std::vector<float> y(n * m, NAN), yp(n * m, NAN);
              // Uneven row ranges: 1, 2, 3, ... rows; through matmul, and through matmul_int8 on
              // activations prepared once for the call (what linear() does across threads).
              cpu::Int8Acts acts;
              kern.prepare_int8(w.ref, x.data() + t0 * k, n, acts);
              for (int64_t r = 0, len = 1; r < m; r += len, ++len) {
                kern.matmul(w.ref, x.data() + t0 * k, n, r, std::min(m, r + len), y.data(), m);
                kern.matmul_int8(w.ref, acts, r, std::min(m, r + len), yp.data(), m);
              }
              for (int i = 0; i < n; ++i) {
                ASSERT_EQ(std::memcmp(y.data() + i * m, alone.data() + (t0 + i) * m, m * sizeof(float)), 0)
                    << name(isa, w.ref, n) << ": token " << t0 + i << " differs from its n=1 result";
                ASSERT_EQ(std::memcmp(yp.data() + i * m, alone.data() + (t0 + i) * m, m * sizeof(float)), 0)
                    << name(isa, w.ref, n) << ": token " << t0 + i << " differs with prepared activations";
              }
            }
        }
  }
}

// Rounding each activation to a step d = max|x|/127 of its block of 32 errs by at most d/2, so
// |y - y_f32| <= Σ_c |W[r,c]|·d/2 for every output (plus f32 rounding: 1e-5 of Σ|x·w|).
TEST(Int8Decode, CloseToDequantizeThenF32) {
  ExactMode mode(false);
  for (cpu::Isa isa : isas())
    for (int bits : {4, 8})
      for (int group : {32, 64, 128}) {
        const int n = 3;
        QuantMat w(21, group * 9, bits, group, DType::BF16);
        const int64_t k = w.ref.k, m = w.ref.m;
        const std::vector<float> x = activations(n, k);
        std::vector<float> y(n * m), yref(n * m), row(k), d(k / 32), xs(k / group);
        std::vector<int8_t> q(k);
        cpu::kernels(isa).matmul(w.ref, x.data(), n, 0, m, y.data(), m);
        cpu::matmul_ref(w.ref, x.data(), n, 0, m, yref.data(), m);
        for (int i = 0; i < n; ++i) {
          cpu::quantize_act_ref(x.data() + i * k, k, 32, group, q.data(), d.data(), xs.data());
          for (int64_t r = 0; r < m; ++r) {
            cpu::dequant_ref(w.ref, r, 0, k, row.data());
            double bound = 0, mag = 0;
            for (int64_t c = 0; c < k; ++c) {
              bound += std::fabs(row[c]) * d[c / 32] / 2;
              mag += std::fabs(static_cast<double>(x[i * k + c]) * row[c]);
            }
            const double e = static_cast<double>(y[i * m + r]) - yref[i * m + r];
            EXPECT_LE(std::fabs(e), bound + 1e-5 * mag) << name(isa, w.ref, n) << " row " << r << " token " << i;
          }
        }
      }
}

TEST(Int8Decode, ExactModeEqualsDequantizeThenF32) {
  ExactMode mode(true);
  for (cpu::Isa isa : isas())
    for (int bits : {4, 8})
      for (int group : {32, 64, 128})
        for (int n : {1, 2, 5, 15}) {
          QuantMat w(19, group * 3, bits, group, DType::BF16);
          EXPECT_FALSE(cpu::int8_decode(w.ref, n));
          const std::vector<float> x = activations(n, w.ref.k);
          std::vector<float> y(n * w.ref.m, NAN), yref(n * w.ref.m);
          cpu::kernels(isa).matmul(w.ref, x.data(), n, 0, w.ref.m, y.data(), w.ref.m);
          cpu::matmul_ref(w.ref, x.data(), n, 0, w.ref.m, yref.data(), w.ref.m);
          test::expect_close(w.ref, x.data(), n, y.data(), yref.data(), 1e-5, name(isa, w.ref, n));
        }
}

TEST(Int8Decode, OnlyFor4And8BitWeightsInGroupsOf32To128) {
  ExactMode mode(false);
  cpu::MatRef w;
  w.dtype = DType::U32;
  w.m = 4;
  w.k = 256;
  for (int bits : {2, 3, 4, 5, 6, 8})
    for (int group : {16, 32, 64, 128, 256}) {
      w.bits = bits;
      w.group = group;
      const bool ok = (bits == 4 || bits == 8) && group >= 32 && group <= 128;
      EXPECT_EQ(cpu::int8_decode(w, 1), ok) << bits << " " << group;
      EXPECT_EQ(cpu::int8_decode(w, 15), ok);
      EXPECT_FALSE(cpu::int8_decode(w, 16));
      EXPECT_FALSE(cpu::int8_decode(w, 0));
    }
  w.bits = 0;  // float weights
  EXPECT_FALSE(cpu::int8_decode(w, 1));
  w.bits = 8;  // a matrix that asks to stay exact (the 8-bit K/V cache)
  w.group = 64;
  w.exact = true;
  EXPECT_FALSE(cpu::int8_decode(w, 1));
  EXPECT_FALSE(cpu::int8_prefill(w, 16));
}

}  // namespace
}  // namespace cpplm
