// Decode timeline tracing (builds with -DCPPLM_CUDA_TRACE only; see common.cuh): one decode step's
// per-block records, written as CSV for scripts/gpu_trace.py.
#ifdef CPPLM_CUDA_TRACE
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "backends/cuda/common.cuh"
#include "backends/cuda/kernels.h"

namespace cpplm::cuda {
namespace {
constexpr unsigned kCap = 1u << 18;
void* g_buf = nullptr;  // [0] count, [1] capacity; TraceRec records from byte 64

void attach(void* p) {
  trace_attach_kernels(p);
  trace_attach_attention_decode(p);
}

void write_records(const char* path) {
  CPPLM_CUDA_CHECK(cudaDeviceSynchronize());
  attach(nullptr);
  unsigned n = 0;
  CPPLM_CUDA_CHECK(cudaMemcpy(&n, g_buf, sizeof(n), cudaMemcpyDeviceToHost));
  std::vector<TraceRec> r(n < kCap ? n : kCap);
  CPPLM_CUDA_CHECK(cudaMemcpy(r.data(), static_cast<char*>(g_buf) + 64, sizeof(TraceRec) * r.size(), cudaMemcpyDeviceToHost));
  FILE* f = std::fopen(path, "w");
  if (!f) return;
  std::fprintf(f, "grid,tag,block,sm,t0,tw,te,m0,m1\n");
  for (const TraceRec& x : r)
    std::fprintf(f, "%llu,%u,%u,%u,%llu,%llu,%llu,%llu,%llu\n", x.grid, x.tag, x.block, x.sm, x.t0, x.tw, x.te, x.m0, x.m1);
  std::fclose(f);
}
}  // namespace

TraceStep::TraceStep(int offset) {
  const char* at = std::getenv("CPPLM_TRACE_AT");
  path_ = std::getenv("CPPLM_TRACE");
  if (!path_ || offset != (at ? std::atoi(at) : 576)) {
    path_ = nullptr;
    return;
  }
  if (!g_buf) CPPLM_CUDA_CHECK(cudaMalloc(&g_buf, 64 + sizeof(TraceRec) * kCap));
  const unsigned hdr[2] = {0, kCap};
  CPPLM_CUDA_CHECK(cudaMemcpy(g_buf, hdr, sizeof(hdr), cudaMemcpyHostToDevice));
  attach(g_buf);
}

TraceStep::~TraceStep() {
  if (!path_) return;
  try {
    write_records(path_);
  } catch (const std::exception&) {  // tracing is a diagnostic: never an exception from a destructor
  }
}

}  // namespace cpplm::cuda
#endif
