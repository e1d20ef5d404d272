// mlx affine-quantized weights on the GPU: the decode GEMV (gemv.cuh's kernel with a quantized
// format), dequantization into a float scratch for prefill GEMMs, and quantized embedding rows.
// Codes are packed little-endian from the lowest bit; each group of `group` inputs of a row has a
// (scale, bias) pair, stored together as [rows, in / group][2] of the float dtype, or in GGUF's compact
// layouts (ScaleLayout: f16 scales alone, K-quant records).
#include "backends/cuda/gemv.cuh"

namespace cpplm::cuda {
namespace {

// A (scale, bias) pair as loaded: both halves of one 32-bit word (bf16, f16) or a float2.
template <class SB>
struct SbPair {  // bf16
  using Raw = uint32_t;
  static __device__ __forceinline__ Raw load(const void* p, int64_t i) { return __ldg(static_cast<const uint32_t*>(p) + i); }
  static __device__ __forceinline__ float2 get(Raw u) {
    return make_float2(__uint_as_float(u << 16), __uint_as_float(u & 0xffff0000u));
  }
};
template <>
struct SbPair<__half> {
  using Raw = uint32_t;
  static __device__ __forceinline__ Raw load(const void* p, int64_t i) { return __ldg(static_cast<const uint32_t*>(p) + i); }
  static __device__ __forceinline__ float2 get(Raw u) { return __half22float2(*reinterpret_cast<const __half2*>(&u)); }
};
template <>
struct SbPair<float> {
  using Raw = float2;
  static __device__ __forceinline__ Raw load(const void* p, int64_t i) { return __ldg(static_cast<const float2*>(p) + i); }
  static __device__ __forceinline__ float2 get(Raw u) { return u; }
};

// Scales alone (f16), each group's bias -Z·scale (ScaleLayout::kScalesF16; Z = 2^(bits-1)).
template <int Z>
struct SymF16 {};
template <int Z>
struct SbPair<SymF16<Z>> {
  using Raw = unsigned short;
  static __device__ __forceinline__ Raw load(const void* p, int64_t i) {
    return __ldg(static_cast<const unsigned short*>(p) + i);
  }
  static __device__ __forceinline__ float2 get(Raw u) {
    const float s = __half2float(__ushort_as_half(u));
    return make_float2(s, -static_cast<float>(Z) * s);
  }
};
// K-quant records (ScaleLayout::kKRecords): group i of the matrix is byte pair i % 8 of record i / 8 (20 bytes:
// f16 d, dmin, then the 8 (sc, m) pairs); scale = d·sc and bias = -(dmin·m) in f32, as ggml forms them.
struct KRecords {};
template <>
struct SbPair<KRecords> {
  using Raw = uint2;  // (d, dmin) as f16 halves, (sc, m) bytes
  static __device__ __forceinline__ Raw load(const void* p, int64_t i) {
    const uint32_t* r = static_cast<const uint32_t*>(p) + (i >> 3) * 5;
    return make_uint2(__ldg(r), __ldg(reinterpret_cast<const unsigned short*>(r + 1) + (i & 7)));
  }
  static __device__ __forceinline__ float2 get(Raw u) {
    const float2 dm = __half22float2(*reinterpret_cast<const __half2*>(&u.x));
    return make_float2(__fmul_rn(dm.x, static_cast<float>(u.y & 0xffu)), -__fmul_rn(dm.y, static_cast<float>(u.y >> 8)));
  }
};
// Scales alone (f32), each group's bias -32·scale (ScaleLayout::kScalesF32: Q6_K's codes as 8 bits).
struct ScalesQ6 {};
template <>
struct SbPair<ScalesQ6> {
  using Raw = float;
  static __device__ __forceinline__ Raw load(const void* p, int64_t i) { return __ldg(static_cast<const float*>(p) + i); }
  static __device__ __forceinline__ float2 get(Raw u) { return make_float2(u, -32.0f * u); }
};
// The one bit width a scale type serves (0: both).
template <class SB>
constexpr int kOnlyBits = 0;
template <>
constexpr int kOnlyBits<SymF16<8>> = 4;
template <>
constexpr int kOnlyBits<SymF16<128>> = 8;
template <>
constexpr int kOnlyBits<ScalesQ6> = 8;

// The exponent byte of 2^23 for byte_code. In constant memory, not a literal: the compiler would
// then put the selector of every permute in a register (one more move per code).
__constant__ uint32_t kCodeMagic = 0x4B000000u;

// Byte j of w (a code of at most 8 bits) as a float: 2^23 + q built by one byte permute, minus 2^23.
__device__ __forceinline__ float byte_code(uint32_t w, int j) {
  return __uint_as_float(__byte_perm(w, kCodeMagic, 0x7440u + j)) - 8388608.0f;
}

// Bits-bit codes (4 or 8), scales/biases of SB: a 16-byte vector holds 128 / Bits inputs of one
// group (groups are multiples of it). x is staged with padding between vectors (base) so that the
// lanes of a warp, reading their vectors' inputs at the same offset, hit different banks (with
// immediate offsets: no index arithmetic per load); rows come in pairs (kPairs) so that each x
// value read from shared memory serves two rows.
template <int Bits, class SB>
struct QuantFmt {
  static constexpr int kVec = 128 / Bits;
  static constexpr bool kSums = true, kPairs = true, kInt8 = false;
  using Aux = typename SbPair<SB>::Raw;
  // q4: 2 floats of padding per vector (float2 reads, 16 lanes apart by 2 banks); q8: 4 per 2 vectors
  // (float4 reads, 8 lanes on 8 distinct bank quads).
  static __host__ __device__ __forceinline__ int base(int cc) { return Bits == 4 ? cc * 34 : cc * 16 + (cc >> 1) * 4; }
  // Inputs 4i .. 4i + 3 of x at their staged positions.
  static __device__ __forceinline__ void store4(float* xs, int i, float4 v) {
    float* p = xs + base(4 * i / kVec) + 4 * i % kVec;
    if constexpr (Bits == 4) {
      reinterpret_cast<float2*>(p)[0] = make_float2(v.x, v.y);
      reinterpret_cast<float2*>(p)[1] = make_float2(v.z, v.w);
    } else {
      *reinterpret_cast<float4*>(p) = v;
    }
  }
  static __device__ __forceinline__ float4 load4(const float* xs, int i) {
    const float* p = xs + base(4 * i / kVec) + 4 * i % kVec;
    if constexpr (Bits == 4) {
      const float2 a = reinterpret_cast<const float2*>(p)[0], b = reinterpret_cast<const float2*>(p)[1];
      return make_float4(a.x, a.y, b.x, b.y);
    } else {
      return *reinterpret_cast<const float4*>(p);
    }
  }
  static __device__ __forceinline__ Aux aux(const GemvArgs& a, int row, int cc) {
    const int gs = __ffs(a.group) - 1;  // group: a power of two
    return SbPair<SB>::load(a.sb, static_cast<int64_t>(row) * (a.in >> gs) + ((cc * kVec) >> gs));
  }
  // acc[r] += scale·Σ q·x + bias·Σ x over the vector, per row.
  template <int R>
  static __device__ __forceinline__ void dot(float* acc, const uint4* v, const Aux* aux, const float* xr, float xsum, int cc) {
    float d[R][2];  // two chains per row
#pragma unroll
    for (int r = 0; r < R; ++r) d[r][0] = d[r][1] = 0.0f;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      if constexpr (Bits == 4) {
#pragma unroll
        for (int j = 0; j < 4; ++j) {  // codes 8i + 2j (low nibble of byte j) and 8i + 2j + 1 (high)
          const float2 x = *reinterpret_cast<const float2*>(xr + 8 * i + 2 * j);
#pragma unroll
          for (int r = 0; r < R; ++r) {
            const uint32_t w = (&v[r].x)[i], lo = w & 0x0f0f0f0fu, hi = (w >> 4) & 0x0f0f0f0fu;
            d[r][0] = fmaf(byte_code(lo, j), x.x, d[r][0]);
            d[r][1] = fmaf(byte_code(hi, j), x.y, d[r][1]);
          }
        }
      } else {
        const float4 x = *reinterpret_cast<const float4*>(xr + 4 * i);
#pragma unroll
        for (int r = 0; r < R; ++r) {
          const uint32_t w = (&v[r].x)[i];
          d[r][0] = fmaf(byte_code(w, 0), x.x, d[r][0]);
          d[r][1] = fmaf(byte_code(w, 1), x.y, d[r][1]);
          d[r][0] = fmaf(byte_code(w, 2), x.z, d[r][0]);
          d[r][1] = fmaf(byte_code(w, 3), x.w, d[r][1]);
        }
      }
    }
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const float2 sb = SbPair<SB>::get(aux[r]);
      acc[r] = fmaf(sb.x, d[r][0] + d[r][1], fmaf(sb.y, xsum, acc[r]));
    }
  }
};

// Σ of the 4 byte products of a (unsigned: codes) and b (signed: activations), plus c.
__device__ __forceinline__ int dp4a_us(uint32_t a, uint32_t b, int c) {
  int d;
  asm("dp4a.u32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
}

// The same codes on int8 activations (GemvArgs::int8_x): x is quantized per block of 32 inputs as the
// CPU's int8 paths do (backends/cpu/kernels.h: d = max|x| / 127, q = round(x / d), exact f32 sums),
// and each 16-byte weight vector is one integer dot product (dp4a) per 4 codes, scaled once:
// acc += scale·d·Σ q·a + bias·Σx. Staged x: the int8 codes as kXq arrays of [nv] 16-byte words, then
// [nv] float2 (d of the vector's block, Σx over the vector). For 4 bits, word i of a vector holds
// codes 8i .. 8i + 7 in its nibbles, so the first array holds the even inputs of each 8 (bytes
// x[8i], x[8i+2], x[8i+4], x[8i+6]: they meet the low nibbles, masked in place) and the second the
// odd ones (they meet the high nibbles masked in place, 16× the codes: that sum is shifted back).
template <int Bits, class SB>
struct Int8Fmt {
  static constexpr int kVec = 128 / Bits, kXq = kVec / 16;
  static constexpr bool kSums = false, kPairs = true, kInt8 = true;
  using Aux = typename SbPair<SB>::Raw;
  static __host__ __device__ __forceinline__ int base(int nv) { return nv * (4 * kXq + 2); }
  static __device__ __forceinline__ Aux aux(const GemvArgs& a, int row, int cc) { return QuantFmt<Bits, SB>::aux(a, row, cc); }

  // Whole warps take float4s of x (a row of a.x; 8 lanes: one block of 32 inputs), RMS-normalized
  // first when norm_w is set (weights in ns, copied by prefetch_norm to the same threads).
  static __device__ __forceinline__ void stage(const GemvArgs& a, const float* x, float* xs, const float* ns, int in) {
    const float4* x4 = reinterpret_cast<const float4*>(x);
    const int n4 = in / 4, nv = in / kVec, lane = threadIdx.x % 32;
    float inv = 1.0f;
    if (a.norm_w) {
      float ss = 0.0f;
      for (int i = threadIdx.x; i < n4; i += blockDim.x) {
        const float4 v = x4[i];
        ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
      }
      inv = rsqrtf(block_sum(ss) / in + a.eps);
      cp_async_wait<0>();
    }
    uint8_t* xq = reinterpret_cast<uint8_t*>(xs);
    float2* f2 = reinterpret_cast<float2*>(xs + 4 * kXq * nv);
    for (int i0 = threadIdx.x - lane; i0 < n4; i0 += blockDim.x) {
      const int i = i0 + lane;  // in % 32 == 0: a block's 8 lanes are all in or all out
      float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (i < n4) {
        v = x4[i];
        if (a.norm_w) {
          const float4 g = reinterpret_cast<const float4*>(ns)[i];
          v.x *= inv * g.x, v.y *= inv * g.y, v.z *= inv * g.z, v.w *= inv * g.w;
        }
      }
      float m = fmaxf(fmaxf(fabsf(v.x), fabsf(v.y)), fmaxf(fabsf(v.z), fabsf(v.w)));
#pragma unroll
      for (int o = 1; o < 8; o <<= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
      const float id = m > 0.0f ? 127.0f / m : 0.0f;
      const int c0 = __float2int_rn(v.x * id), c1 = __float2int_rn(v.y * id), c2 = __float2int_rn(v.z * id),
                c3 = __float2int_rn(v.w * id);
      float d = m / 127.0f, s;
      if (a.ggml_acts) {  // llama.cpp's q8_0 / q8_1: d stored as f16, sums of the quantized values
        d = __half2float(__float2half_rn(d));
        int si = (c0 + c1) + (c2 + c3);
#pragma unroll
        for (int o = 1; o < kVec / 4; o <<= 1) si += __shfl_xor_sync(0xffffffffu, si, o);
        s = d * static_cast<float>(si);
      } else {
        s = (v.x + v.y) + (v.z + v.w);
#pragma unroll
        for (int o = 1; o < kVec / 4; o <<= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
      }
      if (i >= n4) continue;
      const uint32_t q0 = c0 & 0xff, q1 = c1 & 0xff, q2 = c2 & 0xff, q3 = c3 & 0xff;
      const int cc = i / (kVec / 4), k = i % (kVec / 4);  // the vector, the float4 within it
      if constexpr (Bits == 8) {
        reinterpret_cast<uint32_t*>(xq)[4 * cc + k] = q0 | q1 << 8 | q2 << 16 | q3 << 24;
      } else {  // float4 k: bytes 2 (k & 1), +1 of word k / 2, evens (q0, q2) and odds (q1, q3)
        uint16_t* h = reinterpret_cast<uint16_t*>(xq);
        h[2 * (4 * cc + k / 2) + (k & 1)] = static_cast<uint16_t>(q0 | q2 << 8);
        h[8 * nv + 2 * (4 * cc + k / 2) + (k & 1)] = static_cast<uint16_t>(q1 | q3 << 8);
      }
      if (k == 0) f2[cc] = make_float2(d, s);
    }
    __syncthreads();
  }

  template <int R, int NX>
  static __device__ __forceinline__ void dot_rows(float (*acc)[R], const uint4* v, const Aux* aux, const float* xs, int xrow,
                                                  int nv, int cc, int n);

  template <int R>
  static __device__ __forceinline__ void dot(float* acc, const uint4* v, const Aux* aux, const float* xs, int nv, int cc) {
    const uint4* xq = reinterpret_cast<const uint4*>(xs);
    const float2 f = reinterpret_cast<const float2*>(xs + 4 * kXq * nv)[cc];
    const uint4 x0 = xq[cc];
    int isum[R];
    if constexpr (Bits == 4) {
      const uint4 x1 = xq[nv + cc];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        int lo = 0, hi = 0;
        lo = __dp4a(static_cast<int>(v[r].x & 0x0f0f0f0fu), static_cast<int>(x0.x), lo);
        hi = dp4a_us(v[r].x & 0xf0f0f0f0u, x1.x, hi);
        lo = __dp4a(static_cast<int>(v[r].y & 0x0f0f0f0fu), static_cast<int>(x0.y), lo);
        hi = dp4a_us(v[r].y & 0xf0f0f0f0u, x1.y, hi);
        lo = __dp4a(static_cast<int>(v[r].z & 0x0f0f0f0fu), static_cast<int>(x0.z), lo);
        hi = dp4a_us(v[r].z & 0xf0f0f0f0u, x1.z, hi);
        lo = __dp4a(static_cast<int>(v[r].w & 0x0f0f0f0fu), static_cast<int>(x0.w), lo);
        hi = dp4a_us(v[r].w & 0xf0f0f0f0u, x1.w, hi);
        isum[r] = lo + (hi >> 4);  // hi is 16 × an integer: the shift is exact
      }
    } else {
#pragma unroll
      for (int r = 0; r < R; ++r)
        isum[r] = dp4a_us(v[r].w, x0.w, dp4a_us(v[r].z, x0.z, dp4a_us(v[r].y, x0.y, dp4a_us(v[r].x, x0.x, 0))));
    }
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const float2 sb = SbPair<SB>::get(aux[r]);
      acc[r] = fmaf(sb.x * f.x, static_cast<float>(isum[r]), fmaf(sb.y, f.y, acc[r]));
    }
  }
};

// Several rows of x (gemv1_kernel's NX > 1): dot<R> for each of the first n rows, staged xrow floats
// apart, with the weight words masked once for all of them (the same sums as dot<R> per row).
template <int Bits, class SB>
template <int R, int NX>
__device__ __forceinline__ void Int8Fmt<Bits, SB>::dot_rows(float (*acc)[R], const uint4* v, const Aux* aux, const float* xs,
                                                            int xrow, int nv, int cc, int n) {
  float2 sb[R];
#pragma unroll
  for (int r = 0; r < R; ++r) sb[r] = SbPair<SB>::get(aux[r]);
  if constexpr (Bits == 4) {
    uint32_t lo[R][4], hi[R][4];
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int k = 0; k < 4; ++k) lo[r][k] = (&v[r].x)[k] & 0x0f0f0f0fu, hi[r][k] = (&v[r].x)[k] & 0xf0f0f0f0u;
#pragma unroll
    for (int j = 0; j < NX; ++j) {
      if (j >= n) break;
      const float* x = xs + j * xrow;
      const uint4 x0 = reinterpret_cast<const uint4*>(x)[cc], x1 = reinterpret_cast<const uint4*>(x)[nv + cc];
      const float2 f = reinterpret_cast<const float2*>(x + 4 * kXq * nv)[cc];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        int l = 0, h = 0;
        l = __dp4a(static_cast<int>(lo[r][0]), static_cast<int>(x0.x), l);
        h = dp4a_us(hi[r][0], x1.x, h);
        l = __dp4a(static_cast<int>(lo[r][1]), static_cast<int>(x0.y), l);
        h = dp4a_us(hi[r][1], x1.y, h);
        l = __dp4a(static_cast<int>(lo[r][2]), static_cast<int>(x0.z), l);
        h = dp4a_us(hi[r][2], x1.z, h);
        l = __dp4a(static_cast<int>(lo[r][3]), static_cast<int>(x0.w), l);
        h = dp4a_us(hi[r][3], x1.w, h);
        acc[j][r] = fmaf(sb[r].x * f.x, static_cast<float>(l + (h >> 4)), fmaf(sb[r].y, f.y, acc[j][r]));
      }
    }
  } else {
#pragma unroll
    for (int j = 0; j < NX; ++j) {
      if (j >= n) break;
      const float* x = xs + j * xrow;
      const uint4 x0 = reinterpret_cast<const uint4*>(x)[cc];
      const float2 f = reinterpret_cast<const float2*>(x + 4 * kXq * nv)[cc];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int isum = dp4a_us(v[r].w, x0.w, dp4a_us(v[r].z, x0.z, dp4a_us(v[r].y, x0.y, dp4a_us(v[r].x, x0.x, 0))));
        acc[j][r] = fmaf(sb[r].x * f.x, static_cast<float>(isum), fmaf(sb[r].y, f.y, acc[j][r]));
      }
    }
  }
}

// The int8 formats' reach: a 16-byte vector of codes within one group (kVec: 32 at 4 bits, 16 at 8) and
// x quantized per block of 32 inputs. int8_gemv_supported keeps one-row decode on groups of >= 32.
bool int8_rows_supported(int bits, int group, int in) {
  return (bits == 4 || bits == 8) && group >= 128 / bits && (group & (group - 1)) == 0 && in % 32 == 0 && in % group == 0;
}

template <class SB>
void launch_quant(const CudaContext& ctx, const GemvArgs& a) {
  constexpr int only = kOnlyBits<SB>;
  if (a.rows ? gemv_quant_rows(a) : a.int8_x && int8_gemv_supported(a.bits, a.group, a.in)) {
    if constexpr (only != 8)
      if (a.bits == 4) return launch_gemv1<Int8Fmt<4, SB>>(ctx, a);
    if constexpr (only != 4) return launch_gemv1<Int8Fmt<8, SB>>(ctx, a);
  } else {
    if constexpr (only != 8)
      if (a.bits == 4) return launch_gemv1<QuantFmt<4, SB>>(ctx, a);
    if constexpr (only != 4) return launch_gemv1<QuantFmt<8, SB>>(ctx, a);
  }
}

template <class SB>
__device__ __forceinline__ float2 sb_at(const void* sb, int64_t i) {
  return SbPair<SB>::get(SbPair<SB>::load(sb, i));
}

// One thread per code word of the rows: its 32 / Bits values dequantized and stored at once.
template <int Bits, class SB, class O>
__global__ void dequantize_kernel(const uint32_t* codes, const void* sb, int group, int rows, int in, O* out) {
  pdl_wait();
  pdl_trigger();
  constexpr int kPer = 32 / Bits;
  struct alignas(kPer * sizeof(O)) Pack {
    O v[kPer];
  };
  const int words = in / kPer, groups = in / group;
  const int64_t count = static_cast<int64_t>(rows) * words;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += gridDim.x * static_cast<int64_t>(blockDim.x)) {
    const int64_t row = i / words;
    const int c0 = static_cast<int>(i % words) * kPer;
    const float2 p = sb_at<SB>(sb, row * groups + c0 / group);
    const uint32_t w = __ldg(codes + i);
    Pack pk;
#pragma unroll
    for (int e = 0; e < kPer; ++e)
      pk.v[e] = from_f32<O>(fmaf(p.x, static_cast<float>((w >> (Bits * e)) & ((1u << Bits) - 1)), p.y));
    *reinterpret_cast<Pack*>(out + row * in + c0) = pk;
  }
}

template <class SB>
__global__ void embedding_quant_kernel(const uint32_t* codes, const void* sb, int bits, int group, int vocab, int dim,
                                       const int32_t* ids, int64_t count, float* x, unsigned long long* zero) {
  pdl_wait();
  pdl_trigger();
  if (zero && blockIdx.x == 0 && threadIdx.x == 0) *zero = 0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += gridDim.x * static_cast<int64_t>(blockDim.x)) {
    const int64_t t = i / dim;
    const int c = static_cast<int>(i % dim);
    int id = ids[t];
    id = id < 0 ? 0 : (id >= vocab ? vocab - 1 : id);  // ids are checked on the host; never read out of bounds
    const int64_t bit = static_cast<int64_t>(id) * dim * bits + static_cast<int64_t>(c) * bits;  // bits divide 32
    const uint32_t q = (codes[bit / 32] >> (bit % 32)) & ((1u << bits) - 1);
    const float2 p = sb_at<SB>(sb, static_cast<int64_t>(id) * (dim / group) + c / group);
    x[i] = fmaf(p.x, static_cast<float>(q), p.y);
  }
}

// Calls f with a value of the scale/bias type of layout sl and dtype t (only its type matters).
template <class Fn>
void with_sb(DType t, ScaleLayout sl, int bits, Fn&& f) {
  if (sl == ScaleLayout::kScalesF16) {
    CPPLM_CHECK(t == DType::F16 && (bits == 4 || bits == 8), "quantized weights: scales alone need f16 and 4 or 8 bits");
    if (bits == 4) return f(SymF16<8>{});
    return f(SymF16<128>{});
  }
  if (sl == ScaleLayout::kKRecords) return f(KRecords{});
  if (sl == ScaleLayout::kScalesF32) {
    CPPLM_CHECK(bits == 8, "quantized weights: f32 scales alone (Q6_K) need 8-bit codes");
    return f(ScalesQ6{});
  }
  switch (t) {
    case DType::BF16: return f(__nv_bfloat16{});
    case DType::F16: return f(__half{});
    case DType::F32: return f(0.0f);
    default: throw Error("quantized weights: scales of dtype " + std::string(dtype_name(t)) + " are not supported on the GPU");
  }
}

// reserve_gemv1 for format F at both bit widths and every scale type.
template <template <int, class> class F>
void reserve_formats(int max_in, int norm_in) {
  reserve_gemv1<F<4, __nv_bfloat16>>(max_in, norm_in);
  reserve_gemv1<F<8, __nv_bfloat16>>(max_in, norm_in);
  reserve_gemv1<F<4, __half>>(max_in, norm_in);
  reserve_gemv1<F<8, __half>>(max_in, norm_in);
  reserve_gemv1<F<4, float>>(max_in, norm_in);
  reserve_gemv1<F<8, float>>(max_in, norm_in);
  reserve_gemv1<F<4, SymF16<8>>>(max_in, norm_in);
  reserve_gemv1<F<8, SymF16<128>>>(max_in, norm_in);
  reserve_gemv1<F<4, KRecords>>(max_in, norm_in);
  reserve_gemv1<F<8, KRecords>>(max_in, norm_in);
  reserve_gemv1<F<8, ScalesQ6>>(max_in, norm_in);
}

}  // namespace

size_t scale_row_bytes(ScaleLayout l, DType wtype, int in, int group) {
  switch (l) {
    case ScaleLayout::kScalesF16: return static_cast<size_t>(in / group) * 2;
    case ScaleLayout::kScalesF32: return static_cast<size_t>(in / group) * 4;
    case ScaleLayout::kKRecords: return static_cast<size_t>(in / 256) * 20;
    default: return static_cast<size_t>(in / group) * 2 * dtype_size(wtype);
  }
}

bool int8_gemv_supported(int bits, int group, int in) { return int8_rows_supported(bits, group, in) && group >= 32; }

bool gemv_quant_supported(int bits, int group) {
  return (bits == 4 || bits == 8) && group >= 128 / bits && (group & (group - 1)) == 0;
}

bool gemv_quant_rows(const GemvArgs& a) {
  return a.int8_x && int8_rows_supported(a.bits, a.group, a.in) && !a.norm_w && !a.argmax && !a.merge_splits;
}

void gemv_quant(const CudaContext& ctx, const GemvArgs& a) {
  CPPLM_CHECK(gemv_quant_supported(a.bits, a.group) && a.in % a.group == 0,
              "gemv: quantized weights need 4 or 8 bits, a power-of-two group of >= 128 / bits");
  CPPLM_CHECK((a.n == 1 && !a.rows) || (a.n >= 1 && a.rows && gemv_quant_rows(a)),
              "gemv: several rows of x on quantized weights need GemvArgs::rows, int8 activations, no fused norm or argmax");
  CPPLM_CHECK(!a.argmax || (a.mode == GemvMode::kStore && !a.bias), "gemv: fused argmax needs plain stores, no bias");
  CPPLM_CHECK(a.scales != ScaleLayout::kKRecords || (a.group == 32 && a.in % 256 == 0),
              "gemv: K-quant scale records need groups of 32 and rows of whole 256-input blocks");
  with_sb(a.wtype, a.scales, a.bits, [&](auto sb) { launch_quant<decltype(sb)>(ctx, a); });
}

void reserve_gemv1_quant(int max_in, int norm_in) {
  reserve_formats<QuantFmt>(max_in, norm_in);
  reserve_formats<Int8Fmt>(max_in, norm_in);
}

void dequantize(const CudaContext& ctx, const void* codes, const void* sb, DType sbtype, ScaleLayout sl, int bits, int group,
                int rows, int in, void* out, DType otype) {
  CPPLM_CHECK(gemv_quant_supported(bits, group) && in % group == 0, "dequantize: unsupported bits / group");
  const int64_t count = static_cast<int64_t>(rows) * (in / (32 / bits));
  if (count == 0) return;
  const auto* c = static_cast<const uint32_t*>(codes);
  with_sb(sbtype, sl, bits, [&](auto s) {
    using SB = decltype(s);
    constexpr int only = kOnlyBits<SB>;
    auto go = [&](auto o) {
      using O = decltype(o);
      auto* dst = static_cast<O*>(out);
      if constexpr (only != 8)
        if (bits == 4)
          return launch(ctx.stream(), ctx.pdl(), dequantize_kernel<4, SB, O>, dim3(grid_for(count)), dim3(256), 0, c, sb, group,
                        rows, in, dst);
      if constexpr (only != 4)
        launch(ctx.stream(), ctx.pdl(), dequantize_kernel<8, SB, O>, dim3(grid_for(count)), dim3(256), 0, c, sb, group, rows, in,
               dst);
    };
    with_float_type(otype, go);
  });
}

void embedding_quant(const CudaContext& ctx, const void* codes, const void* sb, DType sbtype, ScaleLayout sl, int bits, int group,
                     int vocab, int dim, const int32_t* ids, int n, float* x, unsigned long long* zero) {
  const int64_t count = static_cast<int64_t>(n) * dim;
  if (count == 0) return;
  const auto* c = static_cast<const uint32_t*>(codes);
  with_sb(sbtype, sl, bits, [&](auto s) {
    launch(ctx.stream(), ctx.pdl(), embedding_quant_kernel<decltype(s)>, dim3(grid_for(count)), dim3(256), 0, c, sb, bits, group,
           vocab, dim, ids, count, x, zero);
  });
}

}  // namespace cpplm::cuda
