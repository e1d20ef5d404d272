// Linear and embedding dispatch: checks shapes once, then runs the CPU kernel over threads.
#include "ops/linear.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/ggml_dequant.h"
#include "backends/cpu/ggml_matmul.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/ref_kernels.h"
#include "core/error.h"
#include "core/thread_pool.h"

namespace cpplm {
namespace {

cpu::MatRef mat_ref(const Linear& l) {
  cpu::MatRef w;
  w.w = l.weight.data;
  w.dtype = l.weight.dtype;
  w.m = l.out_features();
  w.k = l.in_features();
  if (l.quantized()) {
    w.bits = l.bits;
    w.group = l.group_size;
    w.scales = l.scales.data;
    w.biases = l.biases.data;
    w.sb_dtype = l.scales.dtype;
  }
  return w;
}

// Below this many multiply-adds a call runs on one thread (waking the others costs more), and a
// chunk of rows holds at least half of it (taking a chunk costs a shared cache line). 2^16 against
// 2^17 (the bundled model's 256 × 256 o_proj then splits too): its 2-thread decode 1.06× (medians of
// six alternations), and no worse beside a busy process; 2^15, 2^18, 2^19 were slower.
constexpr int64_t kParallelMinWork = 1 << 16;

}  // namespace

void linear(const Linear& l, const float* x, int n, float* y) {
  CPPLM_CHECK(l.weight.shape.size() == 2, "linear weight must be 2-D");
  const cpu::MatRef w = mat_ref(l);
  const cpu::Kernels& kern = cpu::kernels();
  const int64_t m = w.m;
  // Row blocks (multiples of 16 rows) taken by threads as they come free, each weight row read by
  // one thread. Decode streams the weights, so many small blocks cost nothing and keep a thread
  // that lost its CPU from holding the others back; prefill reuses each block's activations, so
  // its blocks are fewer and larger.
  const bool par = m * w.k * n >= kParallelMinWork;
  const int64_t min_rows = (kParallelMinWork / 2 + w.k * n - 1) / (w.k * n);
  const int64_t chunk = par ? std::max(chunk_for(m, n < cpu::kInt8MinTokens ? 8 : 2, 16), (min_rows + 15) / 16 * 16) : m;
  // GGUF block formats: the activations quantized once for all row blocks (llama.cpp's q8 formats).
  const cpu::GgmlActs* acts = l.ggml() ? cpu::ggml_prepare_acts(l.ggml_type, x, n, w.k) : nullptr;
  // mlx 4/8-bit weights likewise (decode and prefill): x quantized to int8 once, then read by every row block.
  // (A lambda names a thread_local as the running thread's own: the workers get this reference.)
  thread_local cpu::Int8Acts mine;
  cpu::Int8Acts& acts8 = mine;
  const bool int8 = !l.ggml() && par && cpu::int8_acts(w, n);
  if (int8) kern.prepare_int8(w, x, n, acts8);
  parallel_for(m, chunk, [&](int64_t m0, int64_t m1) {
    if (l.ggml()) cpu::ggml_matmul(l.ggml_type, l.weight.data, l.weight.dim(1), w.k, x, n, m0, m1, y, m, acts);  // GGUF blocks
    else if (int8) kern.matmul_int8(w, acts8, m0, m1, y, m);
    else kern.matmul(w, x, n, m0, m1, y, m);
    if (!l.bias.empty()) {
      thread_local std::vector<float> b;
      b.resize(m1 - m0);
      cpu::to_f32(l.bias, m0, m1 - m0, b.data());
      for (int i = 0; i < n; ++i)
        for (int64_t r = m0; r < m1; ++r) y[i * m + r] += b[r - m0];
    }
  });
}

// Below kInt8MinTokens rows every kernel streams weights row by row with per-row accumulators.
int linear_exact_rows() { return cpu::kInt8MinTokens - 1; }

bool quantized_int8_activations() { return !cpu::exact_quant(); }

void embedding(const Linear& table, const int32_t* ids, int n, float* out) {
  const cpu::MatRef w = mat_ref(table);
  const cpu::Kernels& kern = cpu::kernels();
  for (int i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= w.m)
      throw Error("token id " + std::to_string(ids[i]) + " is outside the vocabulary [0, " + std::to_string(w.m) + ")");
    if (table.ggml())
      cpu::ggml_dequant_row(table.ggml_type, w.w, table.weight.dim(1), w.k, ids[i], out + static_cast<int64_t>(i) * w.k);
    else kern.dequant(w, ids[i], 0, w.k, out + static_cast<int64_t>(i) * w.k);
  }
}

void embedding(const TensorView& table, const int32_t* ids, int n, float* out) {
  Linear l;
  l.weight = table;
  embedding(l, ids, n, out);
}

}  // namespace cpplm

namespace cpplm {

void dequantize(const Linear& l, float* out) {
  const cpu::MatRef w = mat_ref(l);
  const cpu::Kernels& kern = cpu::kernels();
  parallel_for(w.m, chunk_for(w.m, 4, 1), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      if (l.ggml()) cpu::ggml_dequant_row(l.ggml_type, w.w, l.weight.dim(1), w.k, r, out + r * w.k);
      else kern.dequant(w, r, 0, w.k, out + r * w.k);
  });
}

bool ggml_affine(const Linear& l, AffineWeight& a) {
  int bits = 0, group = 0;
  if (!l.ggml() || !cpu::ggml_affine_format(l.ggml_type, &bits, &group)) return false;
  const int64_t out = l.out_features(), in = l.in_features(), groups = in / group, row_bytes = l.weight.dim(1);
  const auto* w = static_cast<const uint8_t*>(l.weight.data);
  a.bits = bits, a.group = group;
  a.codes.assign(static_cast<size_t>(out * in * bits / 32), 0u);
  a.scales.resize(out * groups), a.biases.resize(out * groups);
  const size_t krow = cpu::ggml_kscale_records(l.ggml_type, w, 0, nullptr) ? in / 256 * cpu::kKScaleRecord : 0;
  a.kscales.assign(static_cast<size_t>(out) * krow, 0);
  const uint32_t top = (1u << bits) - 1;
  parallel_for(out, chunk_for(out, 4, 1), [&](int64_t r0, int64_t r1) {
    std::vector<float> y(in);
    for (int64_t r = r0; r < r1; ++r) {
      cpu::ggml_dequant_row(l.ggml_type, w, row_bytes, in, r, y.data());
      float* s = a.scales.data() + r * groups;
      float* b = a.biases.data() + r * groups;
      cpu::ggml_affine_params(l.ggml_type, w + r * row_bytes, in, s, b);
      if (krow) cpu::ggml_kscale_records(l.ggml_type, w + r * row_bytes, in, a.kscales.data() + r * krow);
      uint32_t* c = a.codes.data() + r * in * bits / 32;
      for (int64_t i = 0; i < in; ++i) {
        const float sc = s[i / group], q = sc != 0.0f ? std::nearbyint((y[i] - b[i / group]) / sc) : 0.0f;
        const uint32_t code = q >= 0.0f && q <= static_cast<float>(top) ? static_cast<uint32_t>(q) : 0u;  // NaN: 0
        c[i * bits / 32] |= code << (i * bits % 32);
      }
    }
  });
  return true;
}

}  // namespace cpplm
