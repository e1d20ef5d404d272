// Every CPU kernel of every instruction set this machine runs against the scalar reference:
// odd/even shapes, each float dtype and each quantization (bits × group), fresh random inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "backends/cpu/kernels.h"
#include "backends/cpu/ref_kernels.h"
#include "model/cache.h"
#include "ops/attention.h"
#include "ops/linear.h"
#include "test_util.h"

namespace cpplm {
namespace {

using test::expect_close;
using test::isas;

std::mt19937& rng() {
  static std::mt19937 r(std::random_device{}());
  return r;
}

std::vector<float> randn(size_t n, float scale = 1.0f) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng());
  return v;
}

// Random weights [m, k] stored as `dt` (or quantized when bits > 0), with the backing storage.
struct RandMat {
  std::vector<uint8_t> w, s, b;
  cpu::MatRef ref;
  RandMat(int64_t m, int64_t k, DType dt, int bits = 0, int group = 0) {
    ref.m = m;
    ref.k = k;
    if (bits == 0) {
      std::vector<float> f = randn(m * k);
      w.resize(m * k * dtype_size(dt));
      for (int64_t i = 0; i < m * k; ++i) {
        if (dt == DType::F32) reinterpret_cast<float*>(w.data())[i] = f[i];
        else if (dt == DType::BF16) reinterpret_cast<uint16_t*>(w.data())[i] = f32_to_bf16(f[i]);
        else reinterpret_cast<uint16_t*>(w.data())[i] = f32_to_f16(f[i]);
      }
      ref.dtype = dt;
    } else {
      w.resize(m * k * bits / 8);
      for (uint8_t& x : w) x = static_cast<uint8_t>(rng()());
      const int64_t g = m * k / group;
      s.resize(g * dtype_size(dt));
      b.resize(g * dtype_size(dt));
      std::vector<float> sf = randn(g, 0.05f), bf = randn(g, 0.5f);
      for (int64_t i = 0; i < g; ++i) {
        if (dt == DType::F32) {
          reinterpret_cast<float*>(s.data())[i] = sf[i];
          reinterpret_cast<float*>(b.data())[i] = bf[i];
        } else {
          reinterpret_cast<uint16_t*>(s.data())[i] = dt == DType::BF16 ? f32_to_bf16(sf[i]) : f32_to_f16(sf[i]);
          reinterpret_cast<uint16_t*>(b.data())[i] = dt == DType::BF16 ? f32_to_bf16(bf[i]) : f32_to_f16(bf[i]);
        }
      }
      ref.dtype = DType::U32;
      ref.bits = bits;
      ref.group = group;
      ref.scales = s.data();
      ref.biases = b.data();
      ref.sb_dtype = dt;
    }
    ref.w = w.data();
  }
};

TEST(Kernels, FloatMatmulMatchesReference) {
  for (cpu::Isa isa : isas()) {
    const cpu::Kernels& kern = cpu::kernels(isa);
    for (DType dt : {DType::F32, DType::BF16, DType::F16})
      for (int64_t m : {1, 5, 16, 29})
        for (int64_t k : {1, 7, 16, 33, 64, 130, 300})
          for (int n : {1, 2, 3, 4, 5, 15, 16, 17, 40, 133}) {
            RandMat w(m, k, dt);
            std::vector<float> x = randn(n * k), y(n * m, NAN), yref(n * m);
            cpu::matmul_ref(w.ref, x.data(), n, 0, m, yref.data(), m);
            // Two row ranges, as two threads would split them.
            const int64_t mid = m / 2;
            kern.matmul(w.ref, x.data(), n, 0, mid, y.data(), m);
            kern.matmul(w.ref, x.data(), n, mid, m, y.data(), m);
            expect_close(w.ref, x.data(), n, y.data(), yref.data(), 1e-5,
                         std::string(cpu::isa_name(isa)) + " " + std::string(dtype_name(dt)) + " m=" + std::to_string(m) +
                             " k=" + std::to_string(k) + " n=" + std::to_string(n));
          }
  }
}

// bf16_dot(): prefill with bf16 weights multiplies activations rounded to bf16 (nearest even) on AVX-512,
// so it equals the reference on those rounded activations; other sets and dtypes are unchanged.
TEST(Kernels, Bf16DotEqualsReferenceOnBf16Activations) {
  const bool saved = cpu::bf16_dot();
  cpu::set_bf16_dot(true);
  for (cpu::Isa isa : isas()) {
    const cpu::Kernels& kern = cpu::kernels(isa);
    const bool dot = isa == cpu::Isa::Avx512;
    for (int64_t m : {1, 13, 29})
      for (int64_t k : {2, 34, 300, 514, 1030})
        for (int n : {16, 17, 40, 300}) {
          RandMat w(m, k, DType::BF16);
          std::vector<float> x = randn(n * k), xr(x), y(n * m, NAN), yref(n * m);
          if (dot)
            for (float& v : xr) v = bf16_to_f32(f32_to_bf16(v));
          cpu::matmul_ref(w.ref, xr.data(), n, 0, m, yref.data(), m);
          const int64_t mid = m / 2;
          kern.matmul(w.ref, x.data(), n, 0, mid, y.data(), m);
          kern.matmul(w.ref, x.data(), n, mid, m, y.data(), m);
          expect_close(w.ref, xr.data(), n, y.data(), yref.data(), 1e-5,
                       std::string(cpu::isa_name(isa)) + " bf16 dot m=" + std::to_string(m) + " k=" + std::to_string(k) +
                           " n=" + std::to_string(n));
        }
  }
  cpu::set_bf16_dot(saved);
}

TEST(Kernels, QuantizedMatmulEqualsDequantizeThenF32) {
  // Exact mode: prefill (n >= 16) with 4/8-bit weights keeps f32 activations (int8 path: int8_prefill_test.cpp).
  const bool saved_exact = cpu::exact_quant();
  cpu::set_exact_quant(true);
  for (cpu::Isa isa : isas()) {
    const cpu::Kernels& kern = cpu::kernels(isa);
    for (int bits : {2, 3, 4, 5, 6, 8})
      for (int group : {32, 64, 128})
        for (int64_t m : {3, 17})
          for (int64_t kg : {1, 3})
            for (int n : {1, 2, 3, 17, 33}) {
              const int64_t k = group * kg;
              RandMat w(m, k, bits == 4 ? DType::BF16 : bits == 8 ? DType::F16 : DType::F32, bits, group);
              std::vector<float> x = randn(n * k), y(n * m, NAN), yref(n * m);
              cpu::matmul_ref(w.ref, x.data(), n, 0, m, yref.data(), m);
              kern.matmul(w.ref, x.data(), n, 0, 2, y.data(), m);
              kern.matmul(w.ref, x.data(), n, 2, m, y.data(), m);
              expect_close(w.ref, x.data(), n, y.data(), yref.data(), 1e-5,
                           std::string(cpu::isa_name(isa)) + " q" + std::to_string(bits) + " g" + std::to_string(group) +
                               " m=" + std::to_string(m) + " k=" + std::to_string(k) + " n=" + std::to_string(n));
              // Dequantization (embedding rows) is exact.
              std::vector<float> a(k), b(k);
              for (int64_t r = 0; r < m; ++r) {
                kern.dequant(w.ref, r, 0, k, a.data());
                cpu::dequant_ref(w.ref, r, 0, k, b.data());
                for (int64_t c = 0; c < k; ++c) ASSERT_NEAR(a[c], b[c], 1e-6 * (1 + std::fabs(b[c])));
              }
            }
  }
  cpu::set_exact_quant(saved_exact);
}

TEST(Kernels, QuantCodesArePackedLittleEndianFromLowestBit) {
  // 4 bits: word 0x76543210 holds codes 0..7 in order; 8 bits: bytes in order.
  uint32_t w4[2] = {0x76543210u, 0xfedcba98u};
  cpu::MatRef r4;
  r4.w = w4;
  r4.m = 1;
  r4.k = 16;
  r4.bits = 4;
  for (int c = 0; c < 16; ++c) EXPECT_EQ(cpu::quant_code(r4, 0, c), static_cast<uint32_t>(c));
  // 3 bits: codes spanning word boundaries (code 10 uses bits 30..32).
  uint32_t w3[3] = {};
  for (int c = 0; c < 32; ++c)
    for (int bit = 0; bit < 3; ++bit)
      if (((c % 8) >> bit) & 1) w3[(c * 3 + bit) / 32] |= 1u << ((c * 3 + bit) % 32);
  cpu::MatRef r3 = r4;
  r3.w = w3;
  r3.k = 32;
  r3.bits = 3;
  for (int c = 0; c < 32; ++c) EXPECT_EQ(cpu::quant_code(r3, 0, c), static_cast<uint32_t>(c % 8));
}

TEST(Kernels, VectorHelpersMatchReference) {
  for (cpu::Isa isa : isas()) {
    const cpu::Kernels& kern = cpu::kernels(isa);
    for (int64_t n : {1, 3, 16, 31, 64, 65, 128, 1000}) {
      std::vector<float> a = randn(n), b = randn(n);
      double ref = 0, mag = 0;
      for (int64_t i = 0; i < n; ++i) {
        ref += static_cast<double>(a[i]) * b[i];
        mag += std::fabs(static_cast<double>(a[i]) * b[i]);
      }
      EXPECT_NEAR(kern.dot(a.data(), b.data(), n), ref, 1e-6 * mag) << cpu::isa_name(isa) << " n=" << n;
      std::vector<float> y = b;
      kern.axpy(0.37f, a.data(), y.data(), n);
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(y[i], b[i] + 0.37f * a[i], 1e-6 * (1 + std::fabs(b[i])));
      kern.scale(y.data(), -2.5f, n);
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(y[i], -2.5f * (b[i] + 0.37f * a[i]), 1e-5 * (1 + std::fabs(b[i])));
    }
    // Attention tiles: scores of a tile of rows, weighted sum of a tile of rows (odd head sizes too).
    for (int d : {8, 32, 40, 64, 80, 128})
      for (int cnt : {1, 7, 64}) {
        std::vector<float> rows = randn(cnt * d), q = randn(d), w = randn(cnt), acc = randn(d), out(cnt);
        std::vector<const float*> ptr(cnt);
        for (int j = 0; j < cnt; ++j) ptr[j] = rows.data() + (cnt - 1 - j) * d;  // any row order
        kern.dots(q.data(), ptr.data(), cnt, d, 0.125f, out.data());
        std::vector<float> acc2 = acc;
        kern.axpys(w.data(), ptr.data(), cnt, d, acc2.data());
        for (int j = 0; j < cnt; ++j) {
          double s = 0, mag = 0;
          for (int e = 0; e < d; ++e) {
            s += static_cast<double>(q[e]) * ptr[j][e];
            mag += std::fabs(static_cast<double>(q[e]) * ptr[j][e]);
          }
          EXPECT_NEAR(out[j], 0.125 * s, 1e-6 * mag) << cpu::isa_name(isa);
        }
        for (int e = 0; e < d; ++e) {
          double s = acc[e], mag = std::fabs(acc[e]);
          for (int j = 0; j < cnt; ++j) {
            s += static_cast<double>(w[j]) * ptr[j][e];
            mag += std::fabs(static_cast<double>(w[j]) * ptr[j][e]);
          }
          EXPECT_NEAR(acc2[e], s, 1e-6 * mag) << cpu::isa_name(isa) << " d=" << d;
        }
      }
  }
}

// Softmax numerators: exp(s - m) within 1e-6 relative of std::exp (its polynomial errs < 2e-7),
// 0 for -inf (masked keys), every tail length.
TEST(Kernels, ExpSumMatchesStdExp) {
  std::uniform_real_distribution<float> u(-90.0f, 0.0f);
  for (cpu::Isa isa : isas())
    for (int n : {1, 7, 16, 33, 64, 100}) {
      std::vector<float> s(n);
      for (float& x : s) x = u(rng()) + 3.0f;
      s[n / 2] = -INFINITY;
      if (n > 3) s[1] = 3.0f;  // the maximum: exp(0) = 1
      std::vector<float> got = s;
      const float sum = cpu::kernels(isa).exp_sum(got.data(), n, 3.0f);
      double want_sum = 0;
      for (int j = 0; j < n; ++j) {
        const double want = std::exp(static_cast<double>(s[j]) - 3.0);
        want_sum += want;
        ASSERT_NEAR(got[j], want, 1e-6 * want + 1e-37) << cpu::isa_name(isa) << " n=" << n << " x=" << s[j] - 3.0f;
      }
      EXPECT_NEAR(sum, want_sum, 1e-6 * want_sum) << cpu::isa_name(isa);
      EXPECT_EQ(got[n / 2], 0.0f);
    }
}

// SiLU times up on each instruction set against double precision: large gates of both signs (no
// overflow), zero, tails of every length below the vector width; a NaN gate stays NaN.
TEST(Kernels, SiluMulEveryIsa) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-12.0f, 12.0f);
  for (cpu::Isa isa : isas())
    for (int n : {1, 5, 8, 15, 16, 17, 33, 1000}) {
      std::vector<float> g(n), up(n), out(n);
      for (int i = 0; i < n; ++i) g[i] = u(rng), up[i] = u(rng);
      g[0] = n > 3 ? 0.0f : g[0];
      if (n > 4) g[1] = 95.0f, g[2] = -95.0f, g[3] = -30.0f;
      cpu::kernels(isa).silu_mul(g.data(), up.data(), n, out.data());
      for (int i = 0; i < n; ++i) {
        const double want = g[i] / (1.0 + std::exp(-static_cast<double>(g[i]))) * up[i];
        ASSERT_NEAR(out[i], want, 1e-6 * std::fabs(want) + 1e-30) << cpu::isa_name(isa) << " n=" << n << " g=" << g[i];
      }
      g[n - 1] = NAN;
      cpu::kernels(isa).silu_mul(g.data(), up.data(), n, out.data());
      EXPECT_TRUE(std::isnan(out[n - 1])) << cpu::isa_name(isa);
    }
}

// The threaded op over each instruction set, with a bias.
TEST(Kernels, LinearOpOverEachIsa) {
  const cpu::Isa saved = cpu::active_isa();
  for (cpu::Isa isa : isas()) {
    cpu::set_active_isa(isa);
    for (int n : {1, 7, 64}) {
      const int64_t m = 301, k = 192;
      RandMat w(m, k, DType::BF16, 4, 64);
      std::vector<uint16_t> bias(m);
      for (auto& v : bias) v = f32_to_bf16(randn(1)[0]);
      Linear l;
      l.weight = {w.w.data(), DType::U32, {m, k * 4 / 32}};
      l.scales = {w.s.data(), DType::BF16, {m, k / 64}};
      l.biases = {w.b.data(), DType::BF16, {m, k / 64}};
      l.bits = 4;
      l.group_size = 64;
      l.bias = {bias.data(), DType::BF16, {m}};
      std::vector<float> x = randn(n * k), y(n * m), yref(n * m);
      linear(l, x.data(), n, y.data());
      cpu::matmul_scalar(w.ref, x.data(), n, 0, m, yref.data(), m);  // n = 64: the int8 prefill path's reference
      for (int i = 0; i < n; ++i)
        for (int64_t r = 0; r < m; ++r) yref[i * m + r] += bf16_to_f32(bias[r]);
      expect_close(w.ref, x.data(), n, y.data(), yref.data(), 1e-5, std::string(cpu::isa_name(isa)) + " linear");
    }
  }
  cpu::set_active_isa(saved);
}

// Tiled attention vs a direct f64 softmax, GQA, cache + new tokens, sliding window with sinks;
// short batches (one query token per task) and prefill blocks (n >= 16, partial last block).
TEST(Kernels, AttentionMatchesDirectSoftmax) {
  const cpu::Isa saved = cpu::active_isa();
  for (cpu::Isa isa : isas()) {
    cpu::set_active_isa(isa);
    for (auto [cached, n] : std::vector<std::pair<int, int>>{{150, 7}, {150, 37}, {0, 90}})
      for (int window : {0, 50}) {
        const int heads = 4, kvh = 2, d = 40, keep = window ? 3 : 0;
        std::vector<float> kc = randn(kvh * (cached + 8) * d), vc = randn(kvh * (cached + 8) * d);
        std::vector<float> q = randn(n * heads * d), kn = randn(n * kvh * d), vn = randn(n * kvh * d), out(n * heads * d);
        KVView view;
        view.k = kc.data();
        view.v = vc.data();
        view.kv_heads = kvh;
        view.head_dim = d;
        view.capacity = cached + 8;
        view.offset = cached;
        AttentionParams p{n, heads, kvh, d, 0.17f, window, keep};
        attention(p, q.data(), kn.data(), vn.data(), view, out.data());
        for (int i = 0; i < n; ++i)
          for (int h = 0; h < heads; ++h) {
            const int pos = cached + i, g = h / (heads / kvh);
            std::vector<double> sc, acc(d, 0.0);
            std::vector<const float*> vs;
            for (int j = 0; j <= pos; ++j) {
              if (window && !(j > pos - window || j < keep)) continue;
              const float* kj = j < cached ? &kc[(g * (cached + 8) + j) * d] : &kn[((j - cached) * kvh + g) * d];
              const float* vj = j < cached ? &vc[(g * (cached + 8) + j) * d] : &vn[((j - cached) * kvh + g) * d];
              double s = 0;
              for (int e = 0; e < d; ++e) s += static_cast<double>(q[(i * heads + h) * d + e]) * kj[e];
              sc.push_back(s * 0.17);
              vs.push_back(vj);
            }
            double mx = -1e300, l = 0;
            for (double s : sc) mx = std::max(mx, s);
            for (size_t j = 0; j < sc.size(); ++j) {
              const double w = std::exp(sc[j] - mx);
              l += w;
              for (int e = 0; e < d; ++e) acc[e] += w * vs[j][e];
            }
            for (int e = 0; e < d; ++e)
              ASSERT_NEAR(out[(i * heads + h) * d + e], acc[e] / l, 2e-5)
                  << cpu::isa_name(isa) << " n=" << n << " window=" << window;
          }
      }
  }
  cpu::set_active_isa(saved);
}

// A bf16 / f16 / 8-bit KV cache: rows round-trip within the type's rounding, and attention over it
// equals attention over an f32 cache holding its dequantized rows (every ISA, GQA, sliding window
// with sinks, head_dim 40 = one q8 group of 40 and 96 = three groups of 32).
TEST(Kernels, AttentionOverQuantizedCaches) {
  const cpu::Isa saved = cpu::active_isa();
  for (cpu::Isa isa : isas()) {
    cpu::set_active_isa(isa);
    for (KVType type : {KVType::BF16, KVType::F16, KVType::Q8})
      for (int d : {40, 96})
        for (int window : {0, 50})
          for (int n : {5, 37}) {
            const int heads = 4, kvh = 2, cached = 150, keep = window ? 3 : 0;
            std::vector<float> kc = randn(cached * kvh * d), vc = randn(cached * kvh * d);
            KVCache typed(kvh, d, type), exact(kvh, d, KVType::F32);
            typed.append(kc.data(), vc.data(), cached);
            std::vector<float> kd(cached * kvh * d), vd(cached * kvh * d);
            double worst = 0;
            for (int t = 0; t < cached; ++t)
              for (int h = 0; h < kvh; ++h) {
                float* kr = &kd[(t * kvh + h) * d];
                float* vr = &vd[(t * kvh + h) * d];
                typed.key(h, t, kr);
                typed.value(h, t, vr);
                float lo = 0, hi = 0;
                for (int e = 0; e < d; ++e) {
                  const float x = kc[(t * kvh + h) * d + e];
                  lo = std::min(lo, x);
                  hi = std::max(hi, x);
                }
                for (int e = 0; e < d; ++e) {
                  const float x = kc[(t * kvh + h) * d + e];
                  // bf16 keeps 8 significant bits, f16 11; q8 within one step (mlx keeps the edge exact, clips)
                  const double bound = type == KVType::BF16  ? std::ldexp(std::fabs(x), -8)
                                       : type == KVType::F16 ? std::ldexp(std::fabs(x), -11) + 1e-7
                                                             : (hi - lo) / 255.0 + 1e-6;
                  ASSERT_LE(std::fabs(kr[e] - x), bound) << kv_type_name(type) << " d=" << d;
                  worst = std::max(worst, static_cast<double>(std::fabs(kr[e] - x)));
                }
              }
            exact.append(kd.data(), vd.data(), cached);
            std::vector<float> q = randn(n * heads * d), kn = randn(n * kvh * d), vn = randn(n * kvh * d);
            std::vector<float> got(n * heads * d), want(n * heads * d);
            AttentionParams p{n, heads, kvh, d, 0.15f, window, keep};
            attention(p, q.data(), kn.data(), vn.data(), typed.view(), got.data());
            attention(p, q.data(), kn.data(), vn.data(), exact.view(), want.data());
            for (size_t i = 0; i < got.size(); ++i)
              ASSERT_NEAR(got[i], want[i], 1e-5f * (1 + std::fabs(want[i]))) << cpu::isa_name(isa) << " " << kv_type_name(type);
          }
  }
  cpu::set_active_isa(saved);
  // Storage per row: q8 is a quarter of f32 plus one f32 scale and bias per group.
  KVCache q8(8, 64, KVType::Q8), f32(8, 64, KVType::F32);
  std::vector<float> kv = randn(8 * 64);
  q8.append(kv.data(), kv.data(), 1);
  f32.append(kv.data(), kv.data(), 1);
  EXPECT_EQ(q8.nbytes() * 4, f32.nbytes() / 64 * (64 + 8));
}

}  // namespace
}  // namespace cpplm
