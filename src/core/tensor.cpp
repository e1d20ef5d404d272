// TensorView helpers and the aligned Buffer.
#include "core/tensor.h"

#include <sys/mman.h>

#include <cstdlib>
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

// Buffers of whole 2 MiB pages or more (weights, caches, pools) start on a 2 MiB boundary and ask for transparent
// huge pages over their whole pages, before anything touches them. Where the kernel grants them only on request (its
// setting `madvise`, as on many distributions), 4 KiB pages cost decode from memory: on a 2-core Xeon VM the 1B
// shape's Q4_0 decode ran at 25-26 tokens/s on 4 KiB pages and 29-30 on huge ones. Nothing is rounded up (the tail
// past the last whole page keeps small pages); a buffer touched sparsely, as a K/V pool's first blocks, commits its
// memory in 2 MiB steps instead of 4 KiB ones, within its own size.
constexpr size_t kHugePage = size_t{2} << 20;

Buffer::Buffer(size_t bytes) : size_(bytes) {
  void* p = nullptr;
  if (bytes >= kHugePage) {
    if (posix_memalign(&p, kHugePage, bytes) != 0) p = nullptr;
#ifdef MADV_HUGEPAGE
    if (p) ::madvise(p, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);  // advice only: failure changes nothing
#endif
  } else {
    const size_t rounded = (bytes + 63) / 64 * 64;
    p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  }
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
