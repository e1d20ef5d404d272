// Decode timeline tracing (builds with -DCPPLM_CUDA_TRACE only; see common.cuh): one decode step's
// per-block records, written as CSV for scripts/gpu_trace.py.
#ifdef CPPLM_CUDA_TRACE
#include <cuda_runtime.h>

#include <cstdio>
#include <vector>

#include "backends/cuda/kernels.h"

namespace cpplm::cuda {
namespace {
struct Rec {  // mirrors TraceRec (common.cuh)
  unsigned long long grid;
  unsigned tag, block, sm, pad;
  unsigned long long t0, tw, te, m0, m1;
};
constexpr unsigned kCap = 1u << 18;
void* g_buf = nullptr;
}  // namespace

void trace_begin() {
  if (!g_buf) CPPLM_CUDA_CHECK(cudaMalloc(&g_buf, 64 + sizeof(Rec) * kCap));
  const unsigned hdr[2] = {0, kCap};
  CPPLM_CUDA_CHECK(cudaMemcpy(g_buf, hdr, sizeof(hdr), cudaMemcpyHostToDevice));
  trace_attach_kernels(g_buf);
  trace_attach_attention_decode(g_buf);
}

void trace_end(const char* path) {
  CPPLM_CUDA_CHECK(cudaDeviceSynchronize());
  trace_attach_kernels(nullptr);
  trace_attach_attention_decode(nullptr);
  unsigned n = 0;
  CPPLM_CUDA_CHECK(cudaMemcpy(&n, g_buf, sizeof(n), cudaMemcpyDeviceToHost));
  n = n < kCap ? n : kCap;
  std::vector<Rec> r(n);
  CPPLM_CUDA_CHECK(cudaMemcpy(r.data(), static_cast<char*>(g_buf) + 64, sizeof(Rec) * n, cudaMemcpyDeviceToHost));
  FILE* f = std::fopen(path, "w");
  if (!f) return;
  std::fprintf(f, "grid,tag,block,sm,t0,tw,te,m0,m1\n");
  for (const Rec& x : r) std::fprintf(f, "%llu,%u,%u,%u,%llu,%llu,%llu,%llu,%llu\n", x.grid, x.tag, x.block, x.sm, x.t0, x.tw, x.te, x.m0,
                 x.m1);
  std::fclose(f);
}

}  // namespace cpplm::cuda
#endif
