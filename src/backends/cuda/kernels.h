// Launchers of the CUDA kernels (kernels.cu, attention.cu): each enqueues on the context's stream.
#pragma once
#include <cstdint>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/decode_plan.h"
#include "core/dtype.h"
#include "core/kv_index.h"

namespace cpplm::cuda {

// How a quantized weight's sb holds its groups' scales and biases (W = scale·q + bias).
enum class ScaleLayout : uint8_t {
  kPairs,      // (scale, bias) pairs [out, in / group][2] of wtype
  kScalesF16,  // scales alone [out, in / group] f16, each bias -2^(bits-1)·scale (GGUF Q8_0 / Q4_0 repacked)
  kScalesF32,  // scales alone [out, in / group] f32, each bias -32·scale (GGUF Q6_K repacked: 8-bit codes)
  kKRecords,   // per 256 inputs a 20-byte record: f16 d and dmin, then 8 groups' (sc, m) bytes; scale = d·sc,
               // bias = -(dmin·m) (GGUF Q4_K / Q5_K repacked, groups of 32: cpu::ggml_kscale_records)
};
// Bytes of sb for one row of `in` inputs.
size_t scale_row_bytes(ScaleLayout l, DType wtype, int in, int group);

// What a GEMV writes for output row r (rows come in pairs 2i, 2i+1 for kSwiGlu).
enum class GemvMode { kStore, kAdd, kSwiGlu };  // y = Wx + b | y += Wx + b | y[i] = silu(row 2i) * row 2i+1

struct GemvArgs {
  const void* w = nullptr;  // [out, in] of `wtype` (F32/F16/BF16), or quantized codes (bits > 0)
  DType wtype = DType::BF16;
  int out = 0, in = 0;
  // mlx affine quantization (quant.cu): w holds codes [out, in * bits / 32] uint32 and sb the
  // (scale, bias) pairs [out, in / group][2] of `wtype`; W = scale·q + bias. n == 1, or several rows with `rows`.
  int bits = 0, group = 0;
  const void* sb = nullptr;
  ScaleLayout scales = ScaleLayout::kPairs;  // sb's layout (GGUF repacks: llama.cpp's bytes, or near them)
  // Quantized weights (where int8_gemv_supported): x quantized to int8 per block of 32 inputs, as the
  // CPU's int8 paths do, and integer dot products; else f32 x times the dequantized codes (exact).
  bool int8_x = false;
  // With int8_x, for codes repacked from GGUF block formats: x quantized as llama.cpp's q8_0/q8_1 (the block
  // scale rounded to f16) and the bias term taken on the quantized values (d·Σq, as its q8_1 sums), so that a
  // symmetric format's offset (-128·d for Q8_0) cancels exactly.
  bool ggml_acts = false;
  // A batched decode step's GEMV (gemv_quant_rows): int8 activations also for 8-bit codes in groups of
  // 16 (GGUF's Q6_K), whatever the number of rows, so that a row computes the same in any batch.
  bool rows = false;
  const float* x = nullptr;  // [n, ldx] f32
  int n = 1, ldx = 0;
  const float* norm_w = nullptr;  // [in] f32: RMSNorm fused into the load of x (n == 1 only)
  float eps = 1e-6f;
  const float* bias = nullptr;  // [out] f32 or null
  float* y = nullptr;           // [n, ldy] f32
  int ldy = 0;
  GemvMode mode = GemvMode::kStore;
  // n == 1, kStore, no bias: also folds the rows into *argmax, atomicMax of (ordered value << 32 |
  // ~row), so the largest value wins and ties go to the lowest row (set it to 0 before).
  unsigned long long* argmax = nullptr;
  // n == 1, the decode step's o_proj: x holds attention's unmerged split-KV partials
  // [in / merge_head_dim heads, merge_splits, attn_partial_stride(merge_head_dim)] (AttnArgs::
  // merge_later), which the GEMV merges while it stages x. 0: x is plain.
  int merge_splits = 0, merge_head_dim = 0;
};
// Weight-streaming matrix-vector product for n <= 8 rows of x (decode and small prefill).
void gemv(const CudaContext& ctx, const GemvArgs& a);
// Whether gemv() can merge attention partials (GemvArgs::merge_splits) for weights of this format
// and `in` inputs: float weights on the one-row path (rows of whole 16-byte vectors).
bool gemv_merges_partials(DType wtype, int bits, int in);
// Lets the GEMV kernels take the shared memory they need (cudaFuncSetAttribute, at start-up): x of
// up to max_in inputs in each format's staged layout, plus the RMSNorm weights where the norm is
// fused (inputs of norm_in, the hidden size).
void gemv_reserve_smem(int max_in, int norm_in);

// quant.cu: the GEMV of quantized weights (4 and 8 bits, any group that is a multiple of
// 32 / bits * 4), called by gemv(); its part of gemv_reserve_smem. Several rows of x (any n) where
// gemv_quant_rows(a): each row's outputs bit-identical to the same row's alone, the weights read
// once per up to 8 rows (decode steps of a few sequences).
void gemv_quant(const CudaContext& ctx, const GemvArgs& a);
// Whether several rows (GemvArgs::rows) take these weights: int8 activations, 4 bits in groups of >= 32 or
// 8 bits in groups of >= 16 (powers of two), rows of whole blocks of 32, no fused norm, argmax or merge.
bool gemv_quant_rows(const GemvArgs& a);
void reserve_gemv1_quant(int max_in, int norm_in);
bool gemv_quant_supported(int bits, int group);
// Whether the int8-activation GEMV (GemvArgs::int8_x) takes these weights: 4 or 8 bits, a power-of-two
// group of >= 32, rows of whole blocks of 32.
bool int8_gemv_supported(int bits, int group, int in);
// Rows [0, rows) of a quantized matrix (codes / sb as in GemvArgs, `in` inputs) into out [rows, in]
// of `otype` (F32/F16/BF16), for the cuBLAS path of prefill.
void dequantize(const CudaContext& ctx, const void* codes, const void* sb, DType sbtype, ScaleLayout sl, int bits, int group,
                int rows, int in, void* out, DType otype);
// x [n, dim] f32 = dequantized rows ids[i] of a quantized table [vocab, dim].
void embedding_quant(const CudaContext& ctx, const void* codes, const void* sb, DType sbtype, ScaleLayout sl, int bits, int group,
                     int vocab, int dim, const int32_t* ids, int n, float* x, unsigned long long* zero = nullptr);

// Y [n, out] f32 (+)= X [n, in] · Wᵀ through cuBLAS; X has W's dtype (bf16/f16 tensor cores, f32 exact).
// Rows of Y are ldy apart (0: out).
void gemm(const CudaContext& ctx, const void* w, DType wtype, int out, int in, const void* x, int n, float* y, bool accumulate,
          int ldy = 0);

// out [n, dim] (of `otype`) = x * rsqrt(mean(x²) + eps) * w; x [n, dim] f32, w [dim] f32.
void rms_norm(const CudaContext& ctx, const float* x, int n, int dim, const float* w, float eps, void* out, DType otype);
// out [n, inter] (of `otype`) = silu(gu[:, 2i]) * gu[:, 2i+1]; gu [n, 2*inter] f32 (interleaved gate/up rows).
void swiglu(const CudaContext& ctx, const float* gu, int n, int inter, void* out, DType otype);
// out [count] of `otype` = x [count] f32.
void cast(const CudaContext& ctx, const float* x, int64_t count, void* out, DType otype);
// x [count] f32 as hi + lo, both of `otype` (BF16 or F16): hi = x rounded, lo = (x - hi) rounded, so two
// GEMMs on 16-bit tensor cores give x's products to about 2^-16 of x instead of 2^-8.
void split(const CudaContext& ctx, const float* x, int64_t count, void* hi, void* lo, DType otype);
// y [n, dim] += b [dim].
void add_bias(const CudaContext& ctx, float* y, int n, int dim, const float* b);
// x [n, dim] f32 = table[ids[i]] ; table [vocab, dim] of `ttype`. Also sets *zero to 0 when given
// (the decode step's argmax key, without a memset node between the last GEMVs of the graph).
void embedding(const CudaContext& ctx, const void* table, DType ttype, int vocab, int dim, const int32_t* ids, int n, float* x,
               unsigned long long* zero = nullptr);
// Index of the largest of each row of x [rows, n] (first on ties) into out [rows].
void argmax(const CudaContext& ctx, const float* x, int n, int32_t* out, int rows = 1);
// Fills w [count] of `type` with deterministic uniform values in [-scale, scale) (benchmarks' random weights).
void fill_random(const CudaContext& ctx, void* w, DType type, int64_t count, float scale, uint64_t seed);
// Fills count uint32 words with deterministic random bits (random quantized codes).
void fill_random_bits(const CudaContext& ctx, uint32_t* w, int64_t count, uint64_t seed);
// f32 fill (norm weights of random models).
void fill_value(const CudaContext& ctx, float* x, int64_t count, float v);

// Where one layer's cache of one sequence lives: [kv_heads, capacity, head_dim] of kv_type, slot
// of position p by kv_slot (core/kv_index.h: a ring beyond `keep` when max_size > 0). An 8-bit
// cache (kv_type U8: mlx-lm's QuantizedKVCache(bits=8), the CPU's KVType::Q8) holds codes there and
// (scale, bias) f32 pairs [kv_heads, capacity, head_dim / group] in ksb / vsb: element e of a row
// is scale · code + bias of its group e / group.
// Paged (a pool's blocks): k, v, ksb, vsb hold rows [blocks, kv_heads, block_size] and slot s lives
// in block blocks[s / block_size] (a device array); capacity is then only what decode plans size for.
struct KvLayer {
  void* k = nullptr;
  void* v = nullptr;
  float2* ksb = nullptr;
  float2* vsb = nullptr;
  int group = 0;
  int capacity = 0, max_size = 0, keep = 0;
  const int32_t* blocks = nullptr;
  int block_size = 0, kv_heads = 0;
};

// The row of (kv head, slot) in a layer's storage: the one formula of every kernel.
CPPLM_HOST_DEVICE inline int64_t kv_row(const KvLayer& c, int kvh, int slot) {
  if (!c.blocks) return static_cast<int64_t>(kvh) * c.capacity + slot;
  return (static_cast<int64_t>(c.blocks[slot / c.block_size]) * c.kv_heads + kvh) * c.block_size + slot % c.block_size;
}

// One sequence of a batched decode step (AttnArgs::seqs): its cache of the layer, the positions
// cached, its layer's window and sinks (AttnArgs::window, ::keep) and its splits.
struct DecodeSeq {
  KvLayer cache;
  int offset = 0, window = 0, keep = 0;
  int splits = 1;  // its split-KV blocks (AttnArgs::splits: the launch's is the batch's most)
  int row = 0;     // its row of the step (qkv, RoPE tables, out, partials, counters)
};

struct RopeArgs {
  float* qkv = nullptr;  // [n, ld] f32: q at column 0, k at num_heads*head_dim, v after k
  int n = 0, ld = 0;
  int num_heads = 0, num_kv_heads = 0, head_dim = 0;
  const float* cos = nullptr;  // [n, head_dim/2]
  const float* sin = nullptr;
  bool traditional = false;
  // When set, also writes the rotated k and v of every token into the cache at offset + t.
  const KvLayer* append = nullptr;
  const int* offset = nullptr;  // device int: positions already cached
};
void rope(const CudaContext& ctx, const RopeArgs& a, DType kv_type);

// Writes the k, v columns of qkv [n, ld] into the cache at positions *offset + t (an 8-bit cache:
// quantized as the CPU's KVCache does; rope's fused append does not take one).
void kv_append(const CudaContext& ctx, const float* qkv, int n, int ld, int k_col, int v_col, int num_kv_heads, int head_dim,
               const KvLayer& c, const int* offset, DType kv_type);

constexpr int kMaxAttnSplits = 32;  // split-KV limit of the decode attention kernel
// Floats per split partial of a head: the head_dim outputs, the max, the sum, 2 unused (16-byte rows).
constexpr int attn_partial_stride(int head_dim) { return head_dim + 4; }
// Most splits whose partials a GEMV merges while staging x (GemvArgs::merge_splits).
constexpr int kMaxGemvMergeSplits = 8;

struct AttnArgs {
  const float* qkv = nullptr;  // [n, ld] f32 after RoPE: queries and the new tokens' keys/values
  int n = 0, ld = 0;
  int num_heads = 0, num_kv_heads = 0, head_dim = 0;
  float scale = 1.0f;
  int window = 0, keep = 0;  // key j visible to query p iff j <= p and (j > p - window or j < keep)
  KvLayer cache;
  const int* offset = nullptr;  // device int: cached positions are [.., *offset)
  float* out = nullptr;         // [n, num_heads * head_dim] f32
  // Split-KV (flash-decoding, n == 1): each split's partial result goes to `partial`
  // [num_heads, splits, attn_partial_stride(head_dim)], and the last split block of a head (of a
  // kv head and head group, in the grouped kernel) to finish merges them, unless merge_later;
  // `counters` [num_heads] ints (one per head, or per kv head × head group) are zero before and after.
  int splits = 1;
  int warps = 4;        // the grouped decode kernel's warps per block (attention_decode_plan)
  int head_groups = 1;  // and its blocks per kv head and split (each takes group / head_groups query heads)
  float* partial = nullptr;
  int* counters = nullptr;
  // Grouped decode kernel, splits > 1: leave the partials unmerged (no counters, `out` unwritten)
  // for the o_proj GEMV to merge as it stages them (GemvArgs::merge_splits; attention_decode_plan).
  bool merge_later = false;
  // n == 1, decode with RoPE fused: qkv holds q and k unrotated; the kernel rotates q and the new
  // key (cos/sin [head_dim / 2]) and appends the rotated k and v to the cache at slot *offset.
  const float* rope_cos = nullptr;
  const float* rope_sin = nullptr;
  bool rope_traditional = false;
  // A chunk that runs on tensor cores (bf16 activations) and whose keys, its own too, are already
  // in the cache: attention may use tensor cores as well (attention_tc.cu: bf16 or 8-bit cache,
  // bf16 K, V, Q and P; f32 softmax and accumulation).
  bool tensor_cores = false;
  // Chunks of any size (not only of 8 queries or more) take a chunk kernel (the tensor-core or the
  // tiled one), whose rows do not depend on the chunk's other rows or where it starts, when
  // attention_chunk_rows_exact holds (fixed-shape prefill: CudaModel::fix_prefill_rows).
  bool fixed_rows = false;
  // Batched decode steps (the grouped decode kernel, one query per sequence, fused RoPE): `batch`
  // sequences, each taking its cache, offset, window, sinks and splits from seqs[i] (`splits` is
  // their most; `cache`, `offset`, `window` and `keep` unused) and, with z = seqs[i].row, its q, k, v
  // from qkv row z, its RoPE tables at rope_cos / rope_sin + z * head_dim / 2, its output at row z of
  // out [rows, num_heads * head_dim], its partials from z * num_heads * kMaxAttnSplits partial rows
  // and its counters from z * num_kv_heads.
  const DecodeSeq* seqs = nullptr;
  int batch = 1;
  // The grouped decode kernel's key loop on tensor cores (attention_decode_tc.cuh: bf16 and 8-bit caches, head_dim
  // 64 or 128, attention_decode_tc): q and p as bf16 hi/lo pairs, 4 warps per block.
  bool mma = false;
};
// Causal / sliding-window attention with an online softmax, GQA (query head h reads kv head h / group).
void attention(const CudaContext& ctx, const AttnArgs& a, DType kv_type);
// attention_decode.cu: whether the decode step (n == 1, fused RoPE) of this shape runs the
// GQA-grouped kernel (one block per kv head, head group and split); its split count, block size,
// head groups and merge_later come from attention_decode_plan (decode_plan.h).
bool attention_decode_grouped(int head_dim, int num_heads, int num_kv_heads, DType kv_type);
void attention_decode(const CudaContext& ctx, const AttnArgs& a, DType kv_type);
// Whether the grouped decode kernel can run its key loop on tensor cores (AttnArgs::mma) for this cache.
bool attention_decode_tc(int head_dim, DType kv_type);
// Allows the tensor-core loop's instances their shared memory (before any decode step that uses them);
// false where the card's per-block limit is below it (about 110 KB; consumer cards allow 99 or 100 KB).
bool attention_decode_reserve_smem(int device);
// Whether attention() of a chunk with fixed_rows computes each query row as it would in any other
// chunk of the sequence: the chunk kernels (tensor-core or tiled) then read every key from the cache,
// the chunk's own appended first, and mask keys by absolute position from key 0 (masked tiles add
// exact zeros), so a row's sums do not depend on the chunk; no window or ring.
bool attention_chunk_rows_exact(const AttnArgs& a, DType kv_type);
// attention_tc.cu: whether a chunk can take the tensor-core kernel, and that kernel.
bool attention_tc_supported(const AttnArgs& a, DType kv_type);
void attention_tc(const CudaContext& ctx, const AttnArgs& a, DType kv_type);

#ifdef CPPLM_CUDA_TRACE
// Points the traced kernels of kernels.cu / attention_decode.cu at a trace buffer (common.cuh).
void trace_attach_kernels(void* buf);
void trace_attach_attention_decode(void* buf);
// trace.cu: while in scope, records the kernels of the decode step at CPPLM_TRACE_AT cached
// positions (default 576) and then writes them to the file CPPLM_TRACE names (nothing otherwise).
class TraceStep {
 public:
  explicit TraceStep(int offset);
  ~TraceStep();
  TraceStep(const TraceStep&) = delete;
  TraceStep& operator=(const TraceStep&) = delete;

 private:
  const char* path_ = nullptr;
};
#endif

}  // namespace cpplm::cuda
