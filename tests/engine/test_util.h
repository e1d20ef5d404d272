// Helpers shared by engine tests: fixture paths, reading expected tensors, relative error.
#pragma once
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace cpplm::test {

inline std::string fixture_dir(const std::string& name) { return std::string(CPPLM_TEST_DATA) + "/hf-reference/" + name; }

inline std::vector<double> as_f64(const TensorView& t) {
  std::vector<double> out(t.numel());
  if (t.dtype == DType::F64) std::memcpy(out.data(), t.data, t.nbytes());
  else if (t.dtype == DType::I64) for (int64_t i = 0; i < t.numel(); ++i) out[i] = static_cast<double>(t.as<int64_t>()[i]);
  else if (t.dtype == DType::F32) for (int64_t i = 0; i < t.numel(); ++i) out[i] = t.as<float>()[i];
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

}  // namespace cpplm::test
