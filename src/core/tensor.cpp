// TensorView helpers and the aligned Buffer.
#include "core/tensor.h"

#include <cstring>
#include <new>

namespace cpplm {

int64_t num_elements(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

Buffer::Buffer(size_t bytes) : size_(bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (!p) throw std::bad_alloc();
  ptr_.reset(p);
}

Tensor Tensor::zeros(DType t, Shape s) {
  Tensor out;
  out.dtype = t;
  out.shape = std::move(s);
  size_t bytes = static_cast<size_t>(num_elements(out.shape)) * dtype_size(t);
  out.buf = Buffer(bytes);
  std::memset(out.buf.data(), 0, bytes);
  return out;
}

}  // namespace cpplm
