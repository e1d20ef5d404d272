// Tensor-core fragments shared by the attention kernels (attention_tc.cu, the decode step's
// attention_decode_tc.cuh): ldmatrix loads, the m16n8k16 bf16 and f16 MMAs with f32 accumulators, 16-bit pairs.
#pragma once
#include <cuda_bf16.h>

#include "backends/cuda/common.cuh"

namespace cpplm::cuda {
namespace {

__device__ __forceinline__ void ldmatrix_x4(uint32_t* r, const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t* r, const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}
// c (16×8 f32) += a (16×16 bf16, row) · b (16×8 bf16, col).
__device__ __forceinline__ void mma_bf16(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
// c (16×8 f32) += a (16×16 f16, row) · b (16×8 f16, col).
__device__ __forceinline__ void mma_f16(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ uint32_t pack_f16(float lo, float hi) {
  const __half2 v = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

// s[n] = Q·Kᵀ for NT n-tiles of 8 keys, rows of kt (stride S elements) from key 0, Q as the A fragments
// qf[D / 16] (two k-steps per ldmatrix).
template <int NT, int D, int S>
__device__ __forceinline__ void qk_tiles(float (*s)[4], const uint32_t (*qf)[4], const __nv_bfloat16* kt, int lane) {
#pragma unroll
  for (int n = 0; n < NT; ++n) {
    s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; kk += 2) {
      uint32_t b[4];
      ldmatrix_x4(b, kt + (n * 8 + (lane & 7)) * S + kk * 16 + (lane >> 3) * 8);
      mma_bf16(s[n], qf[kk], b[0], b[1]);
      mma_bf16(s[n], qf[kk + 1], b[2], b[3]);
    }
  }
}

// o[n] += P·V over one k-step of 16 keys: P as the A fragment pf, rows of vt (stride S) from its first
// key, D / 8 n-tiles of head dims (two per transposed ldmatrix).
template <int D, int S>
__device__ __forceinline__ void pv_tiles(float (*o)[4], const uint32_t* pf, const __nv_bfloat16* vt, int lane) {
#pragma unroll
  for (int n = 0; n < D / 8; n += 2) {
    uint32_t b[4];
    ldmatrix_x4_trans(b, vt + ((lane & 7) + ((lane >> 3) & 1) * 8) * S + n * 8 + (lane >> 4) * 8);
    mma_bf16(o[n], pf, b[0], b[1]);
    mma_bf16(o[n + 1], pf, b[2], b[3]);
  }
}

}  // namespace
}  // namespace cpplm::cuda
