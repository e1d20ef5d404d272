// Helpers shared by engine tests: fixture paths, reading expected tensors, relative error, kernel checks.
#pragma once
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backends/cpu/cpu_features.h"
#include "backends/cpu/ref_kernels.h"
#include "io/safetensors.h"

namespace cpplm::test {

// The instruction sets this CPU runs (kernel tests run on each).
inline std::vector<cpu::Isa> isas() {
  std::vector<cpu::Isa> v;
  for (cpu::Isa i : {cpu::Isa::Scalar, cpu::Isa::Avx2, cpu::Isa::Avx512})
    if (cpu::isa_supported(i)) v.push_back(i);
  return v;
}

inline std::string fixture_dir(const std::string& name) { return std::string(CPPLM_TEST_DATA) + "/hf-reference/" + name; }

inline std::vector<double> as_f64(const TensorView& t) {
  std::vector<double> out(t.numel());
  if (t.dtype == DType::F64) std::memcpy(out.data(), t.data, t.nbytes());
  else if (t.dtype == DType::I64)
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = static_cast<double>(t.as<int64_t>()[i]);
  else if (t.dtype == DType::F32)
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = t.as<float>()[i];
  return out;
}

// ‖a − b‖ / ‖b‖ over n elements.
template <class A>
double rel_err(const A* a, const double* ref, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(a[i]) - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

// |y - yref| <= tol · Σ_c |x[i,c]·W[r,c]| for every output (rounding grows with it); the first
// 3 failures are reported.
inline void expect_close(const cpu::MatRef& w, const float* x, int n, const float* y, const float* yref, double tol,
                         const std::string& what) {
  std::vector<float> row(w.k);
  int bad = 0;
  for (int64_t r = 0; r < w.m; ++r) {
    cpu::dequant_ref(w, r, 0, w.k, row.data());
    for (int i = 0; i < n; ++i) {
      double mag = 0;
      for (int64_t c = 0; c < w.k; ++c) mag += std::fabs(static_cast<double>(x[i * w.k + c]) * row[c]);
      const double d = std::fabs(static_cast<double>(y[i * w.m + r]) - yref[i * w.m + r]);
      if (!(d <= tol * mag + 1e-30) && bad++ < 3)
        ADD_FAILURE() << what << " row " << r << " token " << i << ": " << y[i * w.m + r] << " vs " << yref[i * w.m + r];
    }
  }
}

}  // namespace cpplm::test
