// Non-owning contiguous tensor views and a move-only owning buffer.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace cpplm {

using Shape = std::vector<int64_t>;

int64_t num_elements(const Shape& s);
std::string shape_str(const Shape& s);  // "[2, 3]"

// A view of contiguous row-major data owned elsewhere (an mmap'ed file or a Buffer).
struct TensorView {
  const void* data = nullptr;
  DType dtype = DType::F32;
  Shape shape;

  int64_t numel() const { return num_elements(shape); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  int64_t dim(int i) const { return shape.at(i < 0 ? shape.size() + i : i); }
  template <class T>
  const T* as() const {
    return static_cast<const T*>(data);
  }
  bool empty() const { return data == nullptr; }
};

// 64-byte aligned heap memory, move-only.
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t bytes);
  size_t size() const { return size_; }
  void* data() { return ptr_.get(); }
  const void* data() const { return ptr_.get(); }
  template <class T>
  T* as() {
    return static_cast<T*>(data());
  }
  template <class T>
  const T* as() const {
    return static_cast<const T*>(data());
  }

 private:
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> ptr_;
  size_t size_ = 0;
};

// A Buffer with a dtype and shape: owns what a TensorView points to.
struct Tensor {
  Buffer buf;
  DType dtype = DType::F32;
  Shape shape;
  static Tensor zeros(DType t, Shape s);
  TensorView view() const { return {buf.data(), dtype, shape}; }
};

}  // namespace cpplm
