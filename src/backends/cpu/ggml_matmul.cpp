// ggml block-format matmul: integer dot products on quantized activations (ggml_qdot), or dequantize-then-f32.
#include "backends/cpu/ggml_matmul.h"

#include <string>
#include <vector>

#include "backends/cpu/ggml_dequant.h"
#include "backends/cpu/kernels.h"
#include "core/error.h"

namespace cpplm::cpu {

size_t ggml_row_bytes(uint32_t type, int64_t k) {
  size_t be = 0, bb = 0;
  if (!ggml_block_layout(type, &be, &bb)) throw Error("ggml type " + std::to_string(type) + " has no CPU kernel");
  if (k <= 0 || static_cast<size_t>(k) % be != 0)
    throw Error("ggml type " + std::to_string(type) + ": rows of " + std::to_string(k) + " elements are not whole " +
                std::to_string(be) + "-element blocks");
  return static_cast<size_t>(k) / be * bb;
}

void ggml_dequant_row(uint32_t type, const void* w, size_t row_bytes, int64_t k, int64_t r, float* out) {
  ggml_dequantize(type, static_cast<const uint8_t*>(w) + static_cast<size_t>(r) * row_bytes, row_bytes, static_cast<size_t>(k),
                  out);
}

const GgmlActs* ggml_prepare_acts(uint32_t type, const float* x, int n, int64_t k) {
  if (exact_quant()) return nullptr;
  thread_local GgmlActs acts;
  ggml_quantize_acts(type, x, n, k, &acts);
  return &acts;
}

void ggml_matmul(uint32_t type, const void* w, size_t row_bytes, int64_t k, const float* x, int n, int64_t m0, int64_t m1,
                 float* y, int64_t ldy, const GgmlActs* acts) {
  if (m1 <= m0 || n <= 0) return;
  if (!exact_quant()) {
    if (acts == nullptr) {
      thread_local GgmlActs own;
      ggml_quantize_acts(type, x, n, k, &own);
      acts = &own;
    }
    ggml_matmul_q(active_isa(), type, w, row_bytes, *acts, m0, m1, y, ldy);
    return;
  }
  const Kernels& kern = kernels();
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(k));
  for (int64_t r = m0; r < m1; ++r) {
    ggml_dequant_row(type, w, row_bytes, k, r, row.data());
    for (int i = 0; i < n; ++i) y[i * ldy + r] = kern.dot(row.data(), x + static_cast<int64_t>(i) * k, k);
  }
}

}  // namespace cpplm::cpu
