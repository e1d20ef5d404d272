// The int8-activation GEMV of 4/8-bit weights (GemvArgs::int8_x) against the CPU's scalar reference
// of the same arithmetic (cpu::matmul_int8_ref: x quantized per 32 inputs, integer dot products):
// odd row counts, inputs of one to many groups, f32/bf16/f16 scales, every store mode, the fused
// argmax and the fused RMSNorm. Skipped with "skipped: no GPU" where no GPU is visible.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "backends/cpu/kernels.h"
#include "backends/cpu/ref_kernels.h"
#include "backends/cuda/device_ops.h"
#include "backends/cuda/kernels.h"
#include "core/dtype.h"
#include "cuda_test_util.h"

namespace cpplm {
namespace {

struct Int8Case {
  const char* name;
  int out, in, bits, group;
  DType sb;
};
void PrintTo(const Int8Case& c, std::ostream* os) { *os << c.name; }
class CudaInt8Gemv : public ::testing::TestWithParam<Int8Case> {};

uint16_t to16(float v, DType t) { return t == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v); }

// One matrix on both sides: codes, (scale, bias) per group as the CPU keeps them (two arrays) and as
// the GPU does (pairs).
struct QMatrix {
  std::vector<uint32_t> codes;
  std::vector<uint8_t> scales, biases, pairs;
  cpu::MatRef ref;
};

QMatrix make_matrix(const Int8Case& c, uint64_t seed) {
  QMatrix m;
  uint64_t h = seed;
  m.codes.resize(static_cast<size_t>(c.out) * c.in * c.bits / 32);
  for (uint32_t& w : m.codes) w = static_cast<uint32_t>(next(h) >> 32);
  const size_t groups = static_cast<size_t>(c.out) * (c.in / c.group), es = dtype_size(c.sb);
  m.scales.resize(groups * es), m.biases.resize(groups * es), m.pairs.resize(2 * groups * es);
  const float amp = 1.0f / std::sqrt(static_cast<float>(c.in)) / ((1 << c.bits) - 1);
  for (size_t g = 0; g < groups; ++g) {
    const float s = amp * (0.5f + 2 * unit(h)), b = -amp * (1 << (c.bits - 1)) * (0.5f + unit(h));
    if (c.sb == DType::F32) {
      reinterpret_cast<float*>(m.scales.data())[g] = s, reinterpret_cast<float*>(m.biases.data())[g] = b;
    } else {
      reinterpret_cast<uint16_t*>(m.scales.data())[g] = to16(s, c.sb),
      reinterpret_cast<uint16_t*>(m.biases.data())[g] = to16(b, c.sb);
    }
    std::memcpy(m.pairs.data() + 2 * g * es, m.scales.data() + g * es, es);
    std::memcpy(m.pairs.data() + (2 * g + 1) * es, m.biases.data() + g * es, es);
  }
  m.ref.w = m.codes.data(), m.ref.dtype = DType::U32, m.ref.m = c.out, m.ref.k = c.in, m.ref.bits = c.bits, m.ref.group = c.group,
  m.ref.scales = m.scales.data(), m.ref.biases = m.biases.data(), m.ref.sb_dtype = c.sb;
  return m;
}

// max |a - ref| over max |ref|.
double max_rel(const std::vector<float>& a, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i])) return INFINITY;
    num = std::max(num, std::fabs(double(a[i]) - ref[i])), den = std::max(den, std::fabs(double(ref[i])));
  }
  return num / (den > 0 ? den : 1);
}

TEST_P(CudaInt8Gemv, MatchesScalarReference) {
  SKIP_WITHOUT_GPU();
  const Int8Case& c = GetParam();
  if (!cuda::int8_gemv_supported(c.bits, c.group, c.in)) GTEST_SKIP() << "groups of 16: batched steps' rows only";
  QMatrix m = make_matrix(c, 11 + c.out);
  uint64_t h = 5;
  std::vector<float> x(c.in), old(c.out), normw(c.in);
  for (float& v : x) v = 4 * unit(h) - 2;
  x[c.in / 3] = 9.5f;  // one block with a large value: its small ones round to few codes
  for (float& v : old) v = unit(h) - 0.5f;
  for (float& v : normw) v = 0.5f + unit(h);

  cuda::CudaContext ctx(0);
  cuda::gemv_reserve_smem(c.in, c.in);
  cuda::DeviceBuffer dw(m.codes.size() * 4), dsb(m.pairs.size()), dx(c.in * 4), dy(c.out * 4), dn(c.in * 4), dam(8);
  cuda::upload(dw.data(), m.codes.data(), m.codes.size() * 4);
  cuda::upload(dsb.data(), m.pairs.data(), m.pairs.size());
  cuda::upload(dx.data(), x.data(), x.size() * 4);
  cuda::upload(dn.data(), normw.data(), normw.size() * 4);
  auto gpu = [&](cuda::GemvMode mode, bool norm, bool argmax, int out_rows) {
    cuda::upload(dy.data(), old.data(), old.size() * 4);
    const unsigned long long zero = 0;
    cuda::upload(dam.data(), &zero, 8);
    cuda::GemvArgs g;
    g.w = dw.data(), g.wtype = c.sb, g.out = c.out, g.in = c.in, g.bits = c.bits, g.group = c.group, g.sb = dsb.data();
    g.int8_x = true, g.x = dx.as<float>(), g.ldx = c.in, g.y = dy.as<float>(), g.ldy = c.out, g.mode = mode;
    g.norm_w = norm ? dn.as<float>() : nullptr, g.eps = 1e-5f;
    g.argmax = argmax ? dam.as<unsigned long long>() : nullptr;
    cuda::gemv(ctx, g);
    std::vector<float> y(out_rows);
    unsigned long long key = 0;
    cuda::copy_to_host_async(ctx, y.data(), dy.data(), y.size() * 4);
    cuda::copy_to_host_async(ctx, &key, dam.data(), 8);
    ctx.sync();
    return std::make_pair(y, key);
  };
  auto cpu_ref = [&](const std::vector<float>& xin) {
    std::vector<float> y(c.out);
    cpu::matmul_int8_ref(m.ref, xin.data(), 1, 0, c.out, y.data(), c.out);
    return y;
  };
  const std::vector<float> ref = cpu_ref(x);

  // Plain stores: the same codes and block scales as the CPU; only the f32 order of the sums differs.
  const auto [y, none] = gpu(cuda::GemvMode::kStore, false, false, c.out);
  const double e_store = max_rel(y, ref);
  EXPECT_LE(e_store, 1e-5);
  // Accumulate.
  std::vector<float> acc_ref(c.out);
  for (int r = 0; r < c.out; ++r) acc_ref[r] = old[r] + ref[r];
  EXPECT_LE(max_rel(gpu(cuda::GemvMode::kAdd, false, false, c.out).first, acc_ref), 1e-5);
  // SwiGLU over row pairs.
  std::vector<float> sw_ref(c.out / 2);
  for (int p = 0; p < c.out / 2; ++p) sw_ref[p] = ref[2 * p] / (1.0f + std::exp(-ref[2 * p])) * ref[2 * p + 1];
  EXPECT_LE(max_rel(gpu(cuda::GemvMode::kSwiGlu, false, false, c.out / 2).first, sw_ref), 1e-5);
  // Fused argmax: the row the CPU's values rank first (unless a near tie).
  const auto [ya, key] = gpu(cuda::GemvMode::kStore, false, true, c.out);
  const int row = static_cast<int>(0xffffffffu - static_cast<uint32_t>(key & 0xffffffffu));
  const int best = static_cast<int>(std::max_element(ref.begin(), ref.end()) - ref.begin());
  EXPECT_LE(ref[best] - ref[row], 1e-5 * std::fabs(ref[best])) << "argmax row " << row << " vs " << best;
  // RMSNorm fused into staging: the GPU's normalized x may round a few codes the other way.
  std::vector<float> xn(c.in);
  double ss = 0;
  for (float v : x) ss += double(v) * v;
  const float inv = 1.0f / std::sqrt(static_cast<float>(ss / c.in) + 1e-5f);
  for (int i = 0; i < c.in; ++i) xn[i] = x[i] * inv * normw[i];
  const double e_norm = max_rel(gpu(cuda::GemvMode::kStore, true, false, c.out).first, cpu_ref(xn));
  EXPECT_LE(e_norm, 2e-3);
  std::printf("[ %s ] int8 GEMV vs scalar reference: max rel err %.2e (stores), %.2e (fused RMSNorm)\n", c.name, e_store, e_norm);
}

// Several rows of x at once (batched decode steps, GemvArgs::rows; 8-bit codes also in groups of 16): 11
// rows (launches of up to 8), every store mode; each row's outputs are bit-identical to that row's alone.
TEST_P(CudaInt8Gemv, SeveralRowsEqualEachRowAlone) {
  SKIP_WITHOUT_GPU();
  const Int8Case& c = GetParam();
  QMatrix m = make_matrix(c, 7 + c.in);
  constexpr int kRows = 11;
  uint64_t h = 9;
  std::vector<float> x(static_cast<size_t>(kRows) * c.in), old(static_cast<size_t>(kRows) * c.out);
  for (float& v : x) v = 4 * unit(h) - 2;
  for (float& v : old) v = unit(h) - 0.5f;
  cuda::CudaContext ctx(0);
  cuda::gemv_reserve_smem(c.in, c.in);
  cuda::DeviceBuffer dw(m.codes.size() * 4), dsb(m.pairs.size()), dx(x.size() * 4), dy(old.size() * 4);
  cuda::upload(dw.data(), m.codes.data(), m.codes.size() * 4);
  cuda::upload(dsb.data(), m.pairs.data(), m.pairs.size());
  cuda::upload(dx.data(), x.data(), x.size() * 4);
  for (const cuda::GemvMode mode : {cuda::GemvMode::kStore, cuda::GemvMode::kAdd, cuda::GemvMode::kSwiGlu}) {
    const int ldy = mode == cuda::GemvMode::kSwiGlu ? c.out / 2 : c.out;
    auto run = [&](int first, int n) {
      cuda::upload(dy.data(), old.data(), old.size() * 4);
      cuda::GemvArgs g;
      g.w = dw.data(), g.wtype = c.sb, g.out = c.out, g.in = c.in, g.bits = c.bits, g.group = c.group, g.sb = dsb.data();
      g.int8_x = true, g.rows = true, g.mode = mode, g.n = n, g.ldx = c.in, g.ldy = ldy;
      g.x = dx.as<float>() + static_cast<size_t>(first) * c.in, g.y = dy.as<float>() + static_cast<size_t>(first) * ldy;
      cuda::gemv(ctx, g);
      std::vector<float> y(static_cast<size_t>(n) * ldy);
      cuda::copy_to_host_async(ctx, y.data(), g.y, y.size() * 4);
      ctx.sync();
      return y;
    };
    const std::vector<float> all = run(0, kRows);
    for (int r = 0; r < kRows; ++r) {
      const std::vector<float> alone = run(r, 1);
      EXPECT_EQ(std::memcmp(alone.data(), all.data() + static_cast<size_t>(r) * ldy, alone.size() * 4), 0)
          << c.name << " mode " << static_cast<int>(mode) << " row " << r;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaInt8Gemv,
                         ::testing::Values(Int8Case{"q4g32_f32_96x96", 96, 96, 4, 32, DType::F32},
                                           Int8Case{"q4g64_bf16_518x2048", 518, 2048, 4, 64, DType::BF16},
                                           Int8Case{"q4g128_f16_256x14336", 256, 14336, 4, 128, DType::F16},
                                           Int8Case{"q8g32_bf16_78x160", 78, 160, 8, 32, DType::BF16},
                                           Int8Case{"q8g64_f32_1000x4096", 1000, 4096, 8, 64, DType::F32},
                                           Int8Case{"q8g128_f16_130x1024", 130, 1024, 8, 128, DType::F16},
                                           Int8Case{"q8g16_f32_200x14336", 200, 14336, 8, 16, DType::F32}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace cpplm
