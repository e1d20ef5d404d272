// The int8-activation prefill path for 4/8-bit weights (kernels.h int8_prefill): every ISA against
// its scalar reference, its error against dequantize-then-f32, and the exact mode's switch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
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

// Random 4/8-bit codes with bf16 scales (~0.05) and biases (~0.5): weights of mixed sign.
struct QuantMat {
  std::vector<uint8_t> w;
  std::vector<uint16_t> s, b;
  cpu::MatRef ref;
  QuantMat(int64_t m, int64_t k, int bits, int group, std::mt19937& rng) {
    w.resize(m * k * bits / 8);
    for (uint8_t& x : w) x = static_cast<uint8_t>(rng());
    std::normal_distribution<float> ds(0.0f, 0.05f), db(0.0f, 0.5f);
    for (int64_t i = 0; i < m * k / group; ++i) {
      s.push_back(f32_to_bf16(ds(rng)));
      b.push_back(f32_to_bf16(db(rng)));
    }
    ref = cpu::MatRef{w.data(), DType::U32, m, k, bits, group, s.data(), b.data(), DType::BF16};
  }
};

// Exact mode restored at scope exit (tests may run in any order).
struct ExactMode {
  bool saved = cpu::exact_quant();
  explicit ExactMode(bool on) { cpu::set_exact_quant(on); }
  ~ExactMode() { cpu::set_exact_quant(saved); }
};

// Activations like a transformer's: normal with a few large channels.
std::vector<float> activations(int n, int64_t k, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> x(n * k);
  for (int64_t i = 0; i < n * k; ++i) x[i] = d(rng) * (i % k % 97 == 5 ? 8.0f : 1.0f);
  return x;
}

struct Case {
  int bits, group;
  int64_t m, k;
  int n;
  std::string name(cpu::Isa isa) const {
    return std::string(cpu::isa_name(isa)) + " q" + std::to_string(bits) + " g" + std::to_string(group) +
           " m=" + std::to_string(m) + " k=" + std::to_string(k) + " n=" + std::to_string(n);
  }
};

std::vector<Case> cases() {
  std::vector<Case> v;
  for (int bits : {4, 8})
    for (int group : {32, 64, 128})
      for (int64_t m : {1, 7, 64, 65})
        for (int n : {16, 17, 33, 64}) v.push_back({bits, group, m, group * (m % 2 ? 3 : 5), n});
  v.push_back({4, 64, 300, 1152, 257});  // several row, k and token blocks
  v.push_back({8, 128, 37, 640, 300});
  return v;
}

// y over all rows, split into two row ranges as two threads would.
std::vector<float> run(const cpu::Kernels& kern, const cpu::MatRef& w, const std::vector<float>& x, int n) {
  std::vector<float> y(n * w.m, NAN);
  const int64_t mid = w.m / 2 / 16 * 16;
  kern.matmul(w, x.data(), n, 0, mid, y.data(), w.m);
  kern.matmul(w, x.data(), n, mid, w.m, y.data(), w.m);
  return y;
}

TEST(Int8Prefill, MatchesItsScalarReference) {
  ExactMode mode(false);
  std::mt19937 rng(std::random_device{}());
  for (cpu::Isa isa : isas())
    for (const Case& c : cases()) {
      QuantMat w(c.m, c.k, c.bits, c.group, rng);
      ASSERT_TRUE(cpu::int8_prefill(w.ref, c.n)) << c.name(isa);
      const std::vector<float> x = activations(c.n, c.k, rng);
      const std::vector<float> y = run(cpu::kernels(isa), w.ref, x, c.n);
      std::vector<float> yref(c.n * c.m);
      cpu::matmul_int8_ref(w.ref, x.data(), c.n, 0, c.m, yref.data(), c.m);
      // Integer sums are exact; only the f32 combination order differs.
      test::expect_close(w.ref, x.data(), c.n, y.data(), yref.data(), 1e-5, c.name(isa));
    }
}

// Activations prepared once for the product (Kernels::prepare_int8, what linear() does across threads) give
// matmul's outputs bit for bit, over uneven row ranges, with AMX on and off where the CPU has it.
TEST(Int8Prefill, PreparedActivationsGiveMatmulsBits) {
  ExactMode mode(false);
  const bool saved = cpu::amx();
  std::mt19937 rng(7);
  for (cpu::Isa isa : isas())
    for (int amx : {0, 1}) {
      if (amx && (isa != cpu::Isa::Avx512 || !cpu::amx_supported())) continue;
      cpu::set_amx(amx != 0);
      for (const Case& c : cases()) {
        if (c.m < 7) continue;
        QuantMat w(c.m, c.k, c.bits, c.group, rng);
        const std::vector<float> x = activations(c.n, c.k, rng);
        const cpu::Kernels& kern = cpu::kernels(isa);
        const std::vector<float> y = run(kern, w.ref, x, c.n);
        cpu::Int8Acts acts;
        kern.prepare_int8(w.ref, x.data(), c.n, acts);
        std::vector<float> yp(c.n * c.m, NAN);
        for (int64_t r = 0, len = 1; r < c.m; r += len, len += 5)
          kern.matmul_int8(w.ref, acts, r, std::min(c.m, r + len), yp.data(), c.m);
        EXPECT_EQ(std::memcmp(y.data(), yp.data(), y.size() * sizeof(float)), 0) << c.name(isa) << (amx ? " amx" : "");
      }
    }
  cpu::set_amx(saved);
}

// AMX (where this CPU and kernel provide it) computes the vector path's integer sums on tiles and
// the same f32 steps in the same order: bit for bit the same outputs.
TEST(Int8Prefill, AmxEqualsTheVectorPath) {
  if (!cpu::amx_supported()) GTEST_SKIP() << "no AMX-INT8 here";
  ExactMode mode(false);
  const bool saved = cpu::amx();
  std::mt19937 rng(std::random_device{}());
  std::vector<Case> all = cases();
  all.push_back({4, 32, 33, 4096, 64});  // several k blocks of 512 and row tiles of 16 with a ragged end
  all.push_back({8, 32, 50, 96, 40});    // an odd number of activation blocks
  for (const Case& c : all) {
    QuantMat w(c.m, c.k, c.bits, c.group, rng);
    const std::vector<float> x = activations(c.n, c.k, rng);
    cpu::set_amx(false);
    const std::vector<float> y_vec = run(cpu::kernels(cpu::Isa::Avx512), w.ref, x, c.n);
    cpu::set_amx(true);
    const std::vector<float> y_amx = run(cpu::kernels(cpu::Isa::Avx512), w.ref, x, c.n);
    int differ = 0;
    for (size_t i = 0; i < y_vec.size(); ++i) differ += std::memcmp(&y_vec[i], &y_amx[i], sizeof(float)) != 0;
    EXPECT_EQ(differ, 0) << c.name(cpu::Isa::Avx512);
  }
  cpu::set_amx(saved);
}

// Rounding each activation to a step d = max|x|/127 of its block of 32 errs by at most d/2, so
// |y - y_f32| <= Σ_c |W[r,c]|·d/2 for every output (plus f32 rounding: 1e-5 of Σ|x·w|). Normwise,
// the errors are independent and uniform: about 0.3-0.5 % for normal activations (asserted <= 1e-2);
// with outlier channels the step of their blocks grows, and only the elementwise bound is asserted.
TEST(Int8Prefill, CloseToDequantizeThenF32) {
  ExactMode mode(false);
  std::mt19937 rng(std::random_device{}());
  double worst[2][2] = {{0, 0}, {0, 0}}, num_all[2][2] = {{0, 0}, {0, 0}}, den_all[2][2] = {{0, 0}, {0, 0}};  // [outliers][q8]
  for (bool outliers : {false, true})
    for (cpu::Isa isa : isas())
      for (const Case& c : cases()) {
        QuantMat w(c.m, c.k, c.bits, c.group, rng);
        std::vector<float> x = activations(c.n, c.k, rng);
        if (!outliers) {
          for (float& v : x) v = std::normal_distribution<float>(0.0f, 1.0f)(rng);
        }
        const std::vector<float> y = run(cpu::kernels(isa), w.ref, x, c.n);
        std::vector<float> yref(c.n * c.m), row(c.k), d(c.k / 32), xs(c.k / c.group);
        std::vector<int8_t> q(c.k);
        cpu::matmul_ref(w.ref, x.data(), c.n, 0, c.m, yref.data(), c.m);
        double num = 0, den = 0;
        int bad = 0;
        for (int i = 0; i < c.n; ++i) {
          cpu::quantize_act_ref(x.data() + i * c.k, c.k, 32, c.group, q.data(), d.data(), xs.data());
          for (int64_t r = 0; r < c.m; ++r) {
            cpu::dequant_ref(w.ref, r, 0, c.k, row.data());
            double bound = 0, mag = 0;
            for (int64_t col = 0; col < c.k; ++col) {
              bound += std::fabs(row[col]) * d[col / 32] / 2;
              mag += std::fabs(static_cast<double>(x[i * c.k + col]) * row[col]);
            }
            const double e = static_cast<double>(y[i * c.m + r]) - yref[i * c.m + r];
            if (!(std::fabs(e) <= bound + 1e-5 * mag) && bad++ < 3)
              ADD_FAILURE() << c.name(isa) << " row " << r << " token " << i << ": error " << e << " over the bound " << bound;
            num += e * e;
            den += static_cast<double>(yref[i * c.m + r]) * yref[i * c.m + r];
          }
        }
        worst[outliers][c.bits == 8] = std::max(worst[outliers][c.bits == 8], std::sqrt(num / den));
        num_all[outliers][c.bits == 8] += num;
        den_all[outliers][c.bits == 8] += den;
      }
  // Normwise over all cases (a case of 16 outputs alone fluctuates too much for a tight bound).
  for (int b8 : {0, 1}) {
    EXPECT_LE(std::sqrt(num_all[0][b8] / den_all[0][b8]), 1e-2) << (b8 ? "q8" : "q4");
    std::printf(
        "[ int8     ] q%d normwise relative error vs dequantize-then-f32: normal activations %.2e (worst case %.2e), "
        "with 8x outlier channels %.2e (worst case %.2e)\n",
        b8 ? 8 : 4, std::sqrt(num_all[0][b8] / den_all[0][b8]), worst[0][b8], std::sqrt(num_all[1][b8] / den_all[1][b8]),
        worst[1][b8]);
  }
}

TEST(Int8Prefill, ExactModeEqualsDequantizeThenF32) {
  ExactMode mode(true);
  std::mt19937 rng(std::random_device{}());
  for (cpu::Isa isa : isas())
    for (const Case& c : cases()) {
      QuantMat w(c.m, c.k, c.bits, c.group, rng);
      EXPECT_FALSE(cpu::int8_prefill(w.ref, c.n));
      const std::vector<float> x = activations(c.n, c.k, rng);
      const std::vector<float> y = run(cpu::kernels(isa), w.ref, x, c.n);
      std::vector<float> yref(c.n * c.m);
      cpu::matmul_ref(w.ref, x.data(), c.n, 0, c.m, yref.data(), c.m);
      test::expect_close(w.ref, x.data(), c.n, y.data(), yref.data(), 1e-5, c.name(isa));
    }
}

TEST(Int8Prefill, ActivationQuantizationRoundsToNearest) {
  // Block max 127 gives d = 1, so codes are x rounded to nearest-even; ties at .5 go to even.
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;
  x[1] = 2.5f;
  x[2] = -3.5f;
  x[3] = 0.49f;
  x[4] = -126.6f;
  std::vector<int8_t> q(32);
  float d = 0, s = 0;
  cpu::quantize_act_ref(x.data(), 32, 32, 32, q.data(), &d, &s);
  EXPECT_EQ(d, 1.0f);
  EXPECT_EQ(q[0], 127);
  EXPECT_EQ(q[1], 2);
  EXPECT_EQ(q[2], -4);
  EXPECT_EQ(q[3], 0);
  EXPECT_EQ(q[4], -127);
  EXPECT_FLOAT_EQ(s, 127.0f + 2.5f - 3.5f + 0.49f - 126.6f);
}

}  // namespace
}  // namespace cpplm
