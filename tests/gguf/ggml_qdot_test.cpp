// Integer dot products of ggml block-format weights (backends/cpu/ggml_qdot.h): activation quantization as
// llama.cpp's CPU backend does it, every ISA against the scalar reference, the reference against
// dequantize-then-f32, and batch invariance (a token's result does not depend on n or the row range).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/cpu_features.h"
#include "backends/cpu/ggml_dequant.h"
#include "backends/cpu/ggml_matmul.h"
#include "backends/cpu/ggml_qdot.h"
#include "core/dtype.h"

namespace cpplm {
namespace {

using cpu::GgmlActs;

struct TypeCase {
  GgmlType type;
  const char* name;
  std::vector<int> f16_at;  // byte offsets of f16 scales within a block
  bool exact;               // SIMD f32 combination equals the reference bit for bit
};

const std::vector<TypeCase>& cases() {
  static const std::vector<TypeCase> c = {
      {GgmlType::Q8_0, "Q8_0", {0}, true},      {GgmlType::Q4_0, "Q4_0", {0}, true},    {GgmlType::Q4_1, "Q4_1", {0, 2}, true},
      {GgmlType::Q5_0, "Q5_0", {0}, true},      {GgmlType::Q5_1, "Q5_1", {0, 2}, true}, {GgmlType::IQ4_NL, "IQ4_NL", {0}, true},
      {GgmlType::Q2_K, "Q2_K", {80, 82}, true}, {GgmlType::Q3_K, "Q3_K", {108}, false}, {GgmlType::Q4_K, "Q4_K", {0, 2}, false},
      {GgmlType::Q5_K, "Q5_K", {0, 2}, false},  {GgmlType::Q6_K, "Q6_K", {208}, false}, {GgmlType::IQ4_XS, "IQ4_XS", {0}, false},
  };
  return c;
}

uint32_t tid(GgmlType t) { return static_cast<uint32_t>(t); }

// Random rows: random code bytes, block scales of moderate size (positive and negative).
std::vector<uint8_t> random_rows(const TypeCase& c, int64_t m, int64_t k, std::mt19937& rng) {
  size_t be = 0, bb = 0;
  cpu::ggml_block_layout(tid(c.type), &be, &bb);
  std::vector<uint8_t> w(static_cast<size_t>(m) * (k / be) * bb);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : w) b = static_cast<uint8_t>(byte(rng));
  std::uniform_real_distribution<float> sc(0.002f, 0.03f);
  for (size_t blk = 0; blk < w.size() / bb; ++blk)
    for (int off : c.f16_at) {
      const uint16_t h = f32_to_f16(byte(rng) < 40 ? -sc(rng) : sc(rng));
      std::memcpy(w.data() + blk * bb + off, &h, 2);
    }
  return w;
}

std::vector<float> random_acts(int n, int64_t k, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * k));
  for (auto& v : x) v = g(rng);
  // Some outliers and an all-zero block.
  for (int t = 0; t < n; ++t) {
    x[t * k + (t * 37) % k] = 9.0f * (t % 2 ? -1.0f : 1.0f);
    if (k >= 512 && t % 3 == 0) std::fill_n(x.begin() + t * k + 256, 32, 0.0f);
  }
  return x;
}

std::vector<cpu::Isa> isas() {
  std::vector<cpu::Isa> v;
  for (cpu::Isa i : {cpu::Isa::Scalar, cpu::Isa::Avx2, cpu::Isa::Avx512})
    if (cpu::isa_supported(i)) v.push_back(i);
  return v;
}

size_t row_bytes(GgmlType t, int64_t k) { return cpu::ggml_row_bytes(tid(t), k); }

// x86 ggml (quantize_row_q8_0 / q8_1 of ggml-cpu/arch/x86/quants.c), written out independently.
TEST(GgmlQdot, Q8_0ActivationsAsLlamaCppOnX86) {
  std::mt19937 rng(1);
  const int64_t k = 256;
  std::vector<float> x = random_acts(1, k, rng);
  x[3] = 0.0f;
  // A tie: amax = 127 makes id = 1, so 2.5 rounds to 2 (half to even), -3.5 to -4.
  for (int j = 32; j < 64; ++j) x[j] = 0.25f;
  x[32] = 127.0f, x[33] = 2.5f, x[34] = -3.5f;
  for (auto kind : {GgmlType::Q8_0, GgmlType::Q4_1}) {
    GgmlActs a;
    cpu::ggml_quantize_acts(tid(kind), x.data(), 1, k, &a);
    for (int64_t b = 0; b < k / 32; ++b) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
      const float d = amax / 127.f;
      EXPECT_EQ(a.d[b], f16_to_f32(f32_to_f16(d)));
      const float id = amax != 0 ? 127.f / amax : 0.f;
      int sum = 0;
      for (int j = 0; j < 32; ++j) {
        const int q = static_cast<int>(std::nearbyint(x[b * 32 + j] * id));
        EXPECT_EQ(a.q[b * 32 + j], q) << b << " " << j;
        sum += q;
      }
      if (kind == GgmlType::Q4_1) {
        EXPECT_EQ(a.s[b], f16_to_f32(f32_to_f16(d * static_cast<float>(sum))));
      }
      EXPECT_EQ(a.bsum[2 * b] + a.bsum[2 * b + 1], sum);
    }
    EXPECT_EQ(a.q[33], 2);
    EXPECT_EQ(a.q[34], -4);
  }
}

// quantize_row_q8_K_ref: the largest-magnitude element maps to -127 and d carries the opposite sign.
TEST(GgmlQdot, Q8_KActivationsAsGgmlRef) {
  std::mt19937 rng(2);
  const int64_t k = 512;
  std::vector<float> x = random_acts(1, k, rng);
  x[10] = -20.0f;  // block 0: negative max → d > 0
  x[300] = 15.0f;  // block 1: positive max → d < 0
  GgmlActs a;
  cpu::ggml_quantize_acts(tid(GgmlType::Q4_K), x.data(), 1, k, &a);
  EXPECT_EQ(a.q[10], -127);
  EXPECT_EQ(a.q[300], -127);
  EXPECT_GT(a.d[0], 0.0f);
  EXPECT_LT(a.d[1], 0.0f);
  for (int64_t b = 0; b < 2; ++b) {
    const float mx = b == 0 ? -20.0f : 15.0f;
    const float iscale = -127.f / mx;
    EXPECT_EQ(a.d[b], 1 / iscale);
    for (int j = 0; j < 256; ++j) {
      const float v = iscale * x[b * 256 + j];
      EXPECT_EQ(a.q[b * 256 + j], std::min(127, static_cast<int>(std::nearbyint(v))));
    }
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int j = 0; j < 16; ++j) s += a.q[b * 256 + g * 16 + j];
      EXPECT_EQ(a.bsum[b * 16 + g], s);
    }
  }
  std::vector<float> z(256, 0.0f);
  cpu::ggml_quantize_acts(tid(GgmlType::Q6_K), z.data(), 1, 256, &a);
  EXPECT_EQ(a.d[0], 0.0f);
}

// The SIMD quantizers give the scalar quantizer's values (codes, scales, sums, panel) on every ISA.
TEST(GgmlQdot, ActivationsEqualOnEveryIsa) {
  std::mt19937 rng(6);
  const int n = 19;
  const int64_t k = 768;
  std::vector<float> x = random_acts(n, k, rng);
  x[5] = -9.0f, x[6] = 9.0f;  // equal magnitudes: the first one gives the q8_K sign
  const cpu::Isa saved = cpu::active_isa();
  for (auto type : {GgmlType::Q8_0, GgmlType::Q4_1, GgmlType::Q4_K}) {
    cpu::set_active_isa(cpu::Isa::Scalar);
    GgmlActs want;
    cpu::ggml_quantize_acts(tid(type), x.data(), n, k, &want);
    for (cpu::Isa isa : isas()) {
      cpu::set_active_isa(isa);
      GgmlActs got;
      cpu::ggml_quantize_acts(tid(type), x.data(), n, k, &got);
      EXPECT_EQ(got.q, want.q) << cpu::isa_name(isa);
      EXPECT_EQ(got.d, want.d) << cpu::isa_name(isa);
      EXPECT_EQ(got.s, want.s) << cpu::isa_name(isa);
      EXPECT_EQ(got.bsum, want.bsum) << cpu::isa_name(isa);
      EXPECT_EQ(got.panel, want.panel) << cpu::isa_name(isa);
    }
  }
  cpu::set_active_isa(saved);
}

// The reference dot against dequantize-then-f32: within the activations' quantization error.
TEST(GgmlQdot, ReferenceWithinActivationQuantizationError) {
  std::mt19937 rng(3);
  for (const TypeCase& c : cases()) {
    for (int64_t k : {256, 1024}) {
      const int64_t m = 9;
      const int n = 3;
      const std::vector<uint8_t> w = random_rows(c, m, k, rng);
      const std::vector<float> x = random_acts(n, k, rng);
      GgmlActs a;
      cpu::ggml_quantize_acts(tid(c.type), x.data(), n, k, &a);
      const size_t rb = row_bytes(c.type, k);
      std::vector<float> row(static_cast<size_t>(k));
      double worst = 0;
      for (int64_t r = 0; r < m; ++r) {
        cpu::ggml_dequant_row(tid(c.type), w.data(), rb, k, r, row.data());
        for (int t = 0; t < n; ++t) {
          double exact = 0, scale = 0, bound = 0;
          for (int64_t b = 0; b < k / 32; ++b) {
            float amax = 0;
            for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[t * k + b * 32 + j]));
            if (a.block == 256) {
              amax = 0;
              for (int j = 0; j < 256; ++j) amax = std::max(amax, std::fabs(x[t * k + (b / 8) * 256 + j]));
            }
            for (int j = 0; j < 32; ++j) {
              const int64_t col = b * 32 + j;
              exact += static_cast<double>(row[col]) * x[t * k + col];
              scale += std::fabs(static_cast<double>(row[col]) * x[t * k + col]);
              bound += std::fabs(row[col]) * 0.57 * amax / 127.0;  // |x - q·d| ≤ d/2 (+ f16 rounding of d)
            }
          }
          const float got = cpu::ggml_vec_dot_ref(tid(c.type), w.data() + r * rb, a, t);
          const double err = std::fabs(got - exact);
          EXPECT_LE(err, bound + 1e-5 * scale) << c.name << " k=" << k << " r=" << r << " t=" << t;
          worst = std::max(worst, err / (bound + 1e-30));
        }
      }
      if (k == 1024) std::printf("%-6s reference vs f32: worst error %.2f of the quantization bound\n", c.name, worst);
    }
  }
}

// Every ISA equals the scalar reference (bitwise where the f32 order is ggml's; else within a few ulp of Σ|terms|),
// for any n and any split of the rows; and each token's result is the same for every n (batch invariance).
TEST(GgmlQdot, EveryIsaMatchesTheReferenceForAnyBatchAndRowSplit) {
  std::mt19937 rng(4);
  const int64_t m = 37;  // odd
  for (const TypeCase& c : cases()) {
    for (int64_t k : {256, 768, 2048}) {
      const std::vector<uint8_t> w = random_rows(c, m, k, rng);
      const int nmax = 17;
      const std::vector<float> x = random_acts(nmax, k, rng);
      const size_t rb = row_bytes(c.type, k);
      GgmlActs all;
      cpu::ggml_quantize_acts(tid(c.type), x.data(), nmax, k, &all);
      std::vector<float> ref(static_cast<size_t>(nmax * m));
      cpu::ggml_matmul_q_ref(tid(c.type), w.data(), rb, all, 0, m, ref.data(), m);
      // Σ|terms| per output for the tolerance of the non-exact types.
      std::vector<double> scale(static_cast<size_t>(nmax * m), 0.0);
      {
        std::vector<float> row(static_cast<size_t>(k));
        for (int64_t r = 0; r < m; ++r) {
          cpu::ggml_dequant_row(tid(c.type), w.data(), rb, k, r, row.data());
          for (int t = 0; t < nmax; ++t)
            for (int64_t j = 0; j < k; ++j) scale[t * m + r] += std::fabs(static_cast<double>(row[j]) * x[t * k + j]);
        }
      }
      for (cpu::Isa isa : isas()) {
        std::vector<float> full;  // n = nmax
        for (int n : {17, 1, 2, 3, 4, 5, 7, 8, 15, 16}) {
          GgmlActs a;
          cpu::ggml_quantize_acts(tid(c.type), x.data(), n, k, &a);
          std::vector<float> y(static_cast<size_t>(n * m), -1.0f);
          // Rows in uneven pieces.
          const int64_t cuts[] = {0, 1, 6, 16, 29, m};
          for (int p = 0; p + 1 < 6; ++p)
            cpu::ggml_matmul_q(isa, tid(c.type), w.data(), rb, a, cuts[p], cuts[p + 1], y.data(), m);
          for (int t = 0; t < n; ++t)
            for (int64_t r = 0; r < m; ++r) {
              const float want = ref[t * m + r], got = y[t * m + r];
              if (c.exact || isa == cpu::Isa::Scalar) {
                ASSERT_EQ(got, want) << c.name << " " << cpu::isa_name(isa) << " k=" << k << " n=" << n << " t=" << t
                                     << " r=" << r;
              } else {
                ASSERT_LE(std::fabs(got - want), 2e-6 * scale[t * m + r])
                    << c.name << " " << cpu::isa_name(isa) << " k=" << k << " n=" << n << " t=" << t << " r=" << r;
              }
              if (!full.empty()) {
                ASSERT_EQ(got, full[t * m + r]) << "batch variance: " << c.name << " " << cpu::isa_name(isa) << " n=" << n;
              }
            }
          if (full.empty()) full = y;
        }
        // Batch invariance: token t alone (n = 1 on x + t·k) gives what it gives inside any batch.
        for (int t = 0; t < nmax; t += 4) {
          GgmlActs one;
          cpu::ggml_quantize_acts(tid(c.type), x.data() + t * k, 1, k, &one);
          std::vector<float> y1(static_cast<size_t>(m));
          cpu::ggml_matmul_q(isa, tid(c.type), w.data(), rb, one, 0, m, y1.data(), m);
          for (int n : {t + 1, 15, 16, 17}) {
            if (n <= t) continue;
            GgmlActs a;
            cpu::ggml_quantize_acts(tid(c.type), x.data(), n, k, &a);
            std::vector<float> y(static_cast<size_t>(n * m));
            cpu::ggml_matmul_q(isa, tid(c.type), w.data(), rb, a, 3, m, y.data(), m);
            cpu::ggml_matmul_q(isa, tid(c.type), w.data(), rb, a, 0, 3, y.data(), m);
            for (int64_t r = 0; r < m; ++r)
              ASSERT_EQ(y[t * m + r], y1[r]) << c.name << " " << cpu::isa_name(isa) << " k=" << k << " n=" << n << " t=" << t;
          }
        }
      }
    }
  }
}

// Prefill on AMX (where this CPU and kernel provide it) computes the vector tiles' integer sums on tiles and their
// f32 steps in their order: bit for bit the same, for every type, several token groups and row tiles.
TEST(GgmlQdot, AmxEqualsTheVectorPath) {
  if (!cpu::amx_supported()) GTEST_SKIP() << "no AMX-INT8 here";
  const bool saved = cpu::amx();
  std::mt19937 rng(5);
  const int64_t m = 37;
  for (const TypeCase& c : cases()) {
    for (int64_t k : {256, 2048})
      for (int n : {16, 40}) {
        const std::vector<uint8_t> w = random_rows(c, m, k, rng);
        const std::vector<float> x = random_acts(n, k, rng);
        const size_t rb = row_bytes(c.type, k);
        GgmlActs a;
        cpu::ggml_quantize_acts(tid(c.type), x.data(), n, k, &a);
        std::vector<float> y[2];
        for (int on : {0, 1}) {
          cpu::set_amx(on != 0);
          y[on].assign(static_cast<size_t>(n * m), -1.0f);
          const int64_t cuts[] = {0, 5, 21, m};
          for (int p = 0; p + 1 < 4; ++p)
            cpu::ggml_matmul_q(cpu::Isa::Avx512, tid(c.type), w.data(), rb, a, cuts[p], cuts[p + 1], y[on].data(), m);
        }
        int differ = 0;
        for (size_t i = 0; i < y[0].size(); ++i) differ += std::memcmp(&y[0][i], &y[1][i], sizeof(float)) != 0;
        EXPECT_EQ(differ, 0) << c.name << " k=" << k << " n=" << n;
      }
  }
  cpu::set_amx(saved);
}

// ggml_matmul (what linear() calls) on the active ISA equals the reference; under exact_quant it is the f32 path.
TEST(GgmlQdot, MatmulUsesTheIntegerPathUnlessExact) {
  std::mt19937 rng(5);
  const TypeCase& c = cases()[1];  // Q4_0
  const int64_t m = 5, k = 512;
  const int n = 2;
  const std::vector<uint8_t> w = random_rows(c, m, k, rng);
  const std::vector<float> x = random_acts(n, k, rng);
  const size_t rb = row_bytes(c.type, k);
  GgmlActs a;
  cpu::ggml_quantize_acts(tid(c.type), x.data(), n, k, &a);
  std::vector<float> ref(static_cast<size_t>(n * m)), y(static_cast<size_t>(n * m));
  cpu::ggml_matmul_q_ref(tid(c.type), w.data(), rb, a, 0, m, ref.data(), m);
  cpu::ggml_matmul(tid(c.type), w.data(), rb, k, x.data(), n, 0, m, y.data(), m);
  EXPECT_EQ(y, ref);
  const cpu::GgmlActs* p = cpu::ggml_prepare_acts(tid(c.type), x.data(), n, k);
  ASSERT_NE(p, nullptr);
  std::fill(y.begin(), y.end(), 0.0f);
  cpu::ggml_matmul(tid(c.type), w.data(), rb, k, x.data(), n, 0, m, y.data(), m, p);
  EXPECT_EQ(y, ref);
  cpu::set_exact_quant(true);
  EXPECT_EQ(cpu::ggml_prepare_acts(tid(c.type), x.data(), n, k), nullptr);
  cpu::ggml_matmul(tid(c.type), w.data(), rb, k, x.data(), n, 0, m, y.data(), m);
  cpu::set_exact_quant(false);
  std::vector<float> row(static_cast<size_t>(k));
  for (int64_t r = 0; r < m; ++r) {
    cpu::ggml_dequant_row(tid(c.type), w.data(), rb, k, r, row.data());
    for (int t = 0; t < n; ++t) {
      double s = 0;
      for (int64_t j = 0; j < k; ++j) s += static_cast<double>(row[j]) * x[t * k + j];
      EXPECT_NEAR(y[t * m + r], s, 1e-4 * (std::fabs(s) + 1));
    }
  }
}

}  // namespace
}  // namespace cpplm
