// The GPU's row-wise kernels (RMSNorm into f32/bf16/f16, SwiGLU of interleaved gate/up pairs) against
// double-precision host references: widths below, at and past the norm kernel's per-thread register
// tiers, odd element counts for SwiGLU. Skipped with "skipped: no GPU" where no GPU is visible.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "backends/cuda/device_ops.h"
#include "backends/cuda/kernels.h"
#include "core/dtype.h"
#include "cuda_test_util.h"

namespace cpplm {
namespace {

// Values as stored in t, read back to f32.
std::vector<float> download(const cuda::CudaContext& ctx, const cuda::DeviceBuffer& b, size_t count, DType t) {
  std::vector<uint16_t> h16(count);
  std::vector<float> f(count);
  if (t == DType::F32) {
    cuda::copy_to_host_async(ctx, f.data(), b.data(), count * 4);
    ctx.sync();
    return f;
  }
  cuda::copy_to_host_async(ctx, h16.data(), b.data(), count * 2);
  ctx.sync();
  for (size_t i = 0; i < count; ++i) f[i] = t == DType::BF16 ? bf16_to_f32(h16[i]) : f16_to_f32(h16[i]);
  return f;
}

// Relative error allowed by one rounding to t, plus the f32 arithmetic's.
double tolerance(DType t) { return t == DType::BF16 ? 4.0e-3 : t == DType::F16 ? 5.0e-4 : 2.0e-6; }

TEST(CudaElementwise, RmsNormEveryWidthAndType) {
  SKIP_WITHOUT_GPU();
  cuda::CudaContext ctx(0);
  uint64_t h = 7;
  for (const int dim : {64, 100, 576, 1024, 1025, 2048, 4096, 5000, 8192, 16384}) {
    const int n = 3;
    std::vector<float> x(static_cast<size_t>(n) * dim), w(dim);
    for (float& v : x) v = 4 * unit(h) - 2;
    for (float& v : w) v = 0.5f + unit(h);
    x[dim / 2] = 40.0f;  // one large value
    cuda::DeviceBuffer dx(x.size() * 4), dw(w.size() * 4), dy(x.size() * 4);
    cuda::upload(dx.data(), x.data(), x.size() * 4);
    cuda::upload(dw.data(), w.data(), w.size() * 4);
    for (const DType t : {DType::F32, DType::BF16, DType::F16}) {
      cuda::rms_norm(ctx, dx.as<float>(), n, dim, dw.as<float>(), 1e-5f, dy.data(), t);
      const std::vector<float> y = download(ctx, dy, x.size(), t);
      for (int r = 0; r < n; ++r) {
        double ss = 0;
        for (int i = 0; i < dim; ++i) ss += double(x[r * dim + i]) * x[r * dim + i];
        const double inv = 1.0 / std::sqrt(ss / dim + 1e-5);
        for (int i = 0; i < dim; ++i) {
          const double ref = x[r * dim + i] * inv * w[i];
          ASSERT_NEAR(y[r * dim + i], ref, tolerance(t) * std::fabs(ref) + 1e-7)
              << "dim " << dim << " row " << r << " input " << i << " type " << dtype_name(t);
        }
      }
    }
  }
}

TEST(CudaElementwise, SwigluOddAndEvenCounts) {
  SKIP_WITHOUT_GPU();
  cuda::CudaContext ctx(0);
  uint64_t h = 11;
  for (const int inter : {1, 7, 64, 14336}) {
    for (const int n : {1, 3}) {
      const size_t count = static_cast<size_t>(n) * inter;
      std::vector<float> gu(2 * count);
      for (float& v : gu) v = 12 * unit(h) - 6;
      cuda::DeviceBuffer dg(gu.size() * 4), dy(count * 4);
      cuda::upload(dg.data(), gu.data(), gu.size() * 4);
      for (const DType t : {DType::F32, DType::BF16, DType::F16}) {
        cuda::swiglu(ctx, dg.as<float>(), n, inter, dy.data(), t);
        const std::vector<float> y = download(ctx, dy, count, t);
        for (size_t i = 0; i < count; ++i) {
          const double g = gu[2 * i], u = gu[2 * i + 1], ref = g / (1.0 + std::exp(-g)) * u;
          ASSERT_NEAR(y[i], ref, tolerance(t) * std::fabs(ref) + 1e-6) << "inter " << inter << " n " << n << " output " << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace cpplm
