// CudaModel: the Llama forward pass on one GPU over a batch of sequences, and graph-replayed greedy decode.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backends/cuda/device_ops.h"
#include "ops/linear.h"
#include "runtime/cuda/cuda_model_impl.h"

namespace cpplm {
namespace cuda {
namespace {

// At most this many bytes of a quantized weight are dequantized for one GEMM (larger ones in row slices).
constexpr size_t kDequantBytes = size_t{64} << 20;

// The GEMV arguments of projection l with y = W x.
GemvArgs gemv_args(const DevLinear& l, const float* x, float* y, GemvMode mode) {
  GemvArgs g;
  g.w = l.w;
  g.wtype = l.t;
  g.bits = l.bits;
  g.group = l.group;
  g.sb = l.sb;
  g.scales = l.scales;
  g.int8_x = l.bits && quantized_int8_activations();
  g.ggml_acts = l.ggml;
  g.out = l.out;
  g.in = l.in;
  g.x = x;
  g.ldx = l.in;
  g.bias = l.bias;
  g.y = y;
  g.ldy = mode == GemvMode::kSwiGlu ? l.out / 2 : l.out;
  g.mode = mode;
  return g;
}

}  // namespace

void CudaModel::embed(const int32_t* ids, int n, float* x, unsigned long long* zero) {
  const DevLinear& e = w_.embed;
  if (e.bits) embedding_quant(ctx_, e.w, e.sb, e.t, e.scales, e.bits, e.group, e.out, e.in, ids, n, x, zero);
  else embedding(ctx_, e.w, e.t, e.out, e.in, ids, n, x, zero);
}

// y (+)= x Wᵀ: cuBLAS on x16 (weight dtype) when given. f32 x: the GEMV for one row, cuBLAS for several
// (small_chunk_gemm; 16-bit weights take x as hi + lo halves, two GEMMs, so its products keep about 16 bits
// of x rather than the 8 of one rounding). Quantized weights: the GEMV for one row (and for several in a
// decode step of few rows, quant_rows_), else cuBLAS on slices dequantized to the GEMM's dtype (f32 for f32 x).
void CudaModel::linear(const DevLinear& l, int n, const float* xf, const void* x16, float* y, GemvMode mode) {
  GemvArgs g = gemv_args(l, xf, y, mode);
  g.n = n;
  g.rows = l.bits && quant_rows_;  // a batched step's rows (decode_batch checked that every projection takes them)
  const bool several = n > 1 && (l.bits ? !g.rows : opt_.small_chunk_gemm);
  if (!x16 && !several) return gemv(ctx_, g);
  float* dst = mode == GemvMode::kSwiGlu ? gu_.as<float>() : y;  // gate/up rows, then SwiGLU into y
  const bool add = mode == GemvMode::kAdd;
  if (l.bits) {
    const DType ct = x16 ? l.ct : DType::F32;
    const size_t es = dtype_size(ct), code_row = static_cast<size_t>(l.in) * l.bits / 8,
                 sb_row = scale_row_bytes(l.scales, l.t, l.in, l.group);
    const int slice = static_cast<int>(std::clamp<size_t>(kDequantBytes / (static_cast<size_t>(l.in) * es), 1, l.out));
    deq_.ensure(static_cast<size_t>(slice) * l.in * es);
    for (int r0 = 0; r0 < l.out; r0 += slice) {
      const int rows = std::min(slice, l.out - r0);
      dequantize(ctx_, static_cast<const char*>(l.w) + r0 * code_row, static_cast<const char*>(l.sb) + r0 * sb_row, l.t, l.scales,
                 l.bits, l.group, rows, l.in, deq_.data(), ct);
      gemm(ctx_, deq_.data(), ct, rows, l.in, x16 ? x16 : xf, n, dst + r0, add, l.out);
    }
  } else if (x16 || l.t == DType::F32) {
    gemm(ctx_, l.w, l.t, l.out, l.in, x16 ? x16 : xf, n, dst, add);
  } else {
    const size_t half = static_cast<size_t>(n) * l.in * dtype_size(l.t);
    split_.ensure(2 * half);
    split(ctx_, xf, static_cast<int64_t>(n) * l.in, split_.data(), split_.as<char>() + half, l.t);
    gemm(ctx_, l.w, l.t, l.out, l.in, split_.data(), n, dst, add);
    gemm(ctx_, l.w, l.t, l.out, l.in, split_.as<char>() + half, n, dst, true);
  }
  if (l.bias) add_bias(ctx_, dst, n, l.out, l.bias);
  if (mode == GemvMode::kSwiGlu) swiglu(ctx_, dst, n, l.out / 2, y, DType::F32);
}

std::vector<CudaModel::Seq> CudaModel::stage(std::span<const SequenceTokens> batch, int rows, int32_t* ids, float* tab) {
  const int D = args_.head_dim, half = D / 2, V = args_.vocab_size;
  std::vector<Seq> seqs;
  int total = 0;
  for (const SequenceTokens& in : batch) {
    auto* s = dynamic_cast<CudaSequence*>(in.state);
    CPPLM_CHECK(s != nullptr, "sequence state from another device");
    if (in.tokens.empty()) throw Error("forward: a sequence of the batch has no tokens");
    for (int32_t t : in.tokens)
      if (t < 0 || t >= V)
        throw Error("forward: token id " + std::to_string(t) + " outside the vocabulary of " + std::to_string(V));
    seqs.push_back({total, static_cast<int>(in.tokens.size()), s});
    total += static_cast<int>(in.tokens.size());
  }
  CPPLM_CHECK(total <= rows, "stage: more tokens than rows");
  std::vector<int> pos;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const Seq& q = seqs[i];
    const int off = q.s->offset();
    std::copy(batch[i].tokens.begin(), batch[i].tokens.end(), ids + q.start);
    pos.resize(q.n);
    for (int k = 0; k < q.n; ++k) pos[k] = off + k;
    rope_.tables(pos.data(), q.n, off + q.n, tab + static_cast<size_t>(q.start) * half,
                 tab + (static_cast<size_t>(rows) + q.start) * half);
    std::memcpy(tab + static_cast<size_t>(rows) * D + i, &off, sizeof(int));
    q.s->ensure(ctx_, off + q.n);
  }
  return seqs;
}

std::vector<CudaModel::Seq> CudaModel::prepare(std::span<const SequenceTokens> batch, int* total_out) {
  size_t total = 0;
  for (const SequenceTokens& in : batch) total += in.tokens.size();
  std::vector<int32_t> ids(total);
  std::vector<float> tab(total * args_.head_dim + batch.size());
  std::vector<Seq> seqs = stage(batch, static_cast<int>(total), ids.data(), tab.data());
  tables_.ensure(tab.size() * 4);
  ids_.ensure(ids.size() * 4);
  copy_to_device_async(ctx_, tables_.data(), tab.data(), tab.size() * 4);
  copy_to_device_async(ctx_, ids_.data(), ids.data(), ids.size() * 4);
  *total_out = static_cast<int>(total);
  return seqs;
}

KVPool* CudaModel::enable_kv_pool(size_t bytes, int block_size, const CacheOptions& opts) {
  if (pool_ && pool_->pool().held_blocks() > 0) throw Error("the K/V pool is in use by other sequences");
  CPPLM_CHECK(block_size > 0, "a K/V block holds at least one position");
  CacheOptions o = opts;
  if (o.kv_bits == 0) o.kv_bits = opt_.kv_bits;
  const KVType type = plan_sequence(args_, dtype_, o).kv_type;
  const size_t block = CudaKVPool::block_bytes(static_cast<size_t>(args_.num_hidden_layers), args_.num_key_value_heads,
                                               args_.head_dim, type, block_size);
  pool_.reset();
  // The pool is allocated now: at most what the device has free, less a tenth (at least 1 GiB) for
  // the steps' activations and cuBLAS.
  const size_t avail = free_device_memory(ctx_), spare = std::max(avail / 10, size_t{1} << 30);
  if (avail > spare) bytes = std::min(bytes, avail - spare);
  const size_t blocks = bytes / block;
  if (blocks == 0)
    throw Error("a K/V budget of " + std::to_string(bytes) + " bytes holds no block of " + std::to_string(block_size) +
                " positions (" + std::to_string(block) + " bytes; the device has " + std::to_string(avail >> 20) + " MiB free)");
  pool_ = std::make_unique<CudaKVPool>(ctx_, static_cast<size_t>(args_.num_hidden_layers), args_.num_key_value_heads,
                                       args_.head_dim, type, static_cast<int>(std::min<size_t>(blocks, 1u << 30)), block_size);
  return &pool_->pool();
}

bool CudaModel::rows_exact(const SequencePlan& plan) const {
  const DType kv = kv_device_dtype(plan.kv_type);
  for (const LayerPlan& l : plan.layers) {
    AttnArgs a;
    a.num_heads = args_.num_attention_heads;
    a.num_kv_heads = args_.num_key_value_heads;
    a.head_dim = args_.head_dim;
    a.window = l.window;
    a.cache.max_size = l.max_size;
    if (!attention_chunk_rows_exact(a, kv)) return false;
  }
  return true;
}

// cuBLAS picks its kernels by shape: GEMMs of always `rows` rows compute each row alike (rows past the
// chunk are zero padding), and the chunk attention kernels mask keys by absolute position from key 0.
// Quantized weights (GEMMs over dequantized slices) are not shown row-exact across chunks yet.
bool CudaModel::fix_prefill_rows(int rows, const CacheOptions& opts) {
  CacheOptions o = opts;
  if (o.kv_bits == 0) o.kv_bits = opt_.kv_bits;
  bool float_weights = w_.lm_head.bits == 0;
  for (const DevLayer& L : w_.layers) float_weights = float_weights && !(L.qkv.bits || L.o.bits || L.gate_up.bits || L.down.bits);
  fixed_rows_ = opt_.fixed_prefill && rows > 0 && float_weights && rows_exact(plan_sequence(args_, dtype_, o)) ? rows : 0;
  return fixed_rows_ > 0;
}

void CudaModel::attend_seq(int li, const std::vector<Seq>& seqs, size_t si, int total, bool use_gemm, bool fixed) {
  const int D = args_.head_dim, half = D / 2;
  const float* cos = tables_.as<float>();
  const float* sin = cos + static_cast<size_t>(total) * half;
  const int* offsets = reinterpret_cast<const int*>(cos + static_cast<size_t>(total) * D);
  const Seq& q = seqs[si];
  const KvLayer& c = q.s->layer(li);
  const bool q8 = q.s->kv_type() == DType::U8;
  // Appending while rotating is safe unless a ring could drop keys later queries of this chunk need.
  // An 8-bit cache is appended after attention, which reads the chunk's keys unrounded from qkv
  // as the CPU does, except before a tensor-core chunk, whose attention reads every key from the cache.
  const bool fused_append = !q8 && (q.n == 1 || c.max_size == 0);
  const bool append_first = q8 && use_gemm && c.max_size == 0 && (q.n > 1 || fixed);
  RopeArgs r;
  r.qkv = qkv_.as<float>() + static_cast<size_t>(q.start) * ld_;
  r.n = q.n;
  r.ld = ld_;
  r.num_heads = args_.num_attention_heads;
  r.num_kv_heads = args_.num_key_value_heads;
  r.head_dim = D;
  r.cos = cos + static_cast<size_t>(q.start) * half;
  r.sin = sin + static_cast<size_t>(q.start) * half;
  r.traditional = rope_.traditional();
  r.append = fused_append ? &c : nullptr;
  r.offset = offsets + si;
  rope(ctx_, r, q.s->kv_type());
  auto append = [&] {
    kv_append(ctx_, r.qkv, q.n, ld_, qd_, qd_ + kd_, args_.num_key_value_heads, D, c, offsets + si, q.s->kv_type());
  };
  if (append_first) append();
  AttnArgs a = layer_attention(li, *q.s, r.qkv, q.n, offsets + si, attn_.as<float>() + static_cast<size_t>(q.start) * qd_);
  a.tensor_cores = (fused_append || append_first) && use_gemm;
  a.fixed_rows = fixed;
  attention(ctx_, a, q.s->kv_type());
  if (!fused_append && !append_first) append();
}

void CudaModel::run_layers(int total, int n, bool use_gemm, const std::function<void(int)>& attend) {
  const int H = args_.hidden_size, I = args_.intermediate_size;
  const float eps = static_cast<float>(args_.rms_norm_eps);
  const size_t wide = std::max({H, I, qd_});
  x_.ensure(static_cast<size_t>(n) * H * 4);
  hn_.ensure(static_cast<size_t>(n) * wide * 4);
  hf_.ensure(static_cast<size_t>(n) * H * 4);
  qkv_.ensure(static_cast<size_t>(n) * ld_ * 4);
  attn_.ensure(static_cast<size_t>(n) * qd_ * 4);
  gu_.ensure(static_cast<size_t>(n) * 2 * I * 4);
  act_.ensure(static_cast<size_t>(n) * I * 4);
  float* x = x_.as<float>();
  float* qkv = qkv_.as<float>();
  float* attn = attn_.as<float>();
  embed(ids_.as<int32_t>(), total, x);
  if (n > total) {  // padding rows: zeros throughout (attention leaves their output rows alone)
    memset_async(ctx_, x + static_cast<size_t>(total) * H, static_cast<size_t>(n - total) * H * 4);
    memset_async(ctx_, attn + static_cast<size_t>(total) * qd_, static_cast<size_t>(n - total) * qd_ * 4);
  }
  for (int li = 0; li < args_.num_hidden_layers; ++li) {
    const DevLayer& L = w_.layers[li];
    // Attention block: x += o_proj(attn(rope(qkv(norm(x)))))
    if (use_gemm) {
      rms_norm(ctx_, x, n, H, L.ln1, eps, hn_.data(), L.qkv.ct);
      linear(L.qkv, n, nullptr, hn_.data(), qkv, GemvMode::kStore);
    } else {
      rms_norm(ctx_, x, n, H, L.ln1, eps, hf_.data(), DType::F32);
      linear(L.qkv, n, hf_.as<float>(), nullptr, qkv, GemvMode::kStore);
    }
    attend(li);
    if (use_gemm) {
      cast(ctx_, attn, static_cast<int64_t>(n) * qd_, hn_.data(), L.o.ct);
      linear(L.o, n, nullptr, hn_.data(), x, GemvMode::kAdd);
    } else {
      linear(L.o, n, attn, nullptr, x, GemvMode::kAdd);
    }
    // MLP block: x += down(silu(gate(norm(x))) * up(norm(x)))
    if (use_gemm) {
      rms_norm(ctx_, x, n, H, L.ln2, eps, hn_.data(), L.gate_up.ct);
      linear(L.gate_up, n, nullptr, hn_.data(), gu_.as<float>(), GemvMode::kStore);
      swiglu(ctx_, gu_.as<float>(), n, I, hn_.data(), L.down.ct);
      linear(L.down, n, nullptr, hn_.data(), x, GemvMode::kAdd);
    } else {
      rms_norm(ctx_, x, n, H, L.ln2, eps, hf_.data(), DType::F32);
      linear(L.gate_up, n, hf_.as<float>(), nullptr, act_.as<float>(), GemvMode::kSwiGlu);
      linear(L.down, n, act_.as<float>(), nullptr, x, GemvMode::kAdd);
    }
  }
}

void CudaModel::logits(const std::vector<int>& at, bool use_gemm, bool one_by_one) {
  const int H = args_.hidden_size, V = args_.vocab_size, rows = static_cast<int>(at.size());
  const float eps = static_cast<float>(args_.rms_norm_eps);
  float* x = x_.as<float>();
  float* hf = hf_.as<float>();
  // Consecutive rows from 0 (every token) normalize in one launch.
  if (!at.empty() && at.back() == rows - 1) {
    rms_norm(ctx_, x, rows, H, w_.norm, eps, hf, DType::F32);
  } else {
    for (int i = 0; i < rows; ++i)
      rms_norm(ctx_, x + static_cast<size_t>(at[i]) * H, 1, H, w_.norm, eps, hf + static_cast<size_t>(i) * H, DType::F32);
  }
  logits_.ensure(static_cast<size_t>(rows) * V * 4);
  if (use_gemm) {
    cast(ctx_, hf, static_cast<int64_t>(rows) * H, hn_.data(), w_.lm_head.ct);
    linear(w_.lm_head, rows, nullptr, hn_.data(), logits_.as<float>(), GemvMode::kStore);
  } else if (one_by_one) {  // the one-row GEMV for each: as it computes a row alone
    for (int i = 0; i < rows; ++i)
      linear(w_.lm_head, 1, hf + static_cast<size_t>(i) * H, nullptr, logits_.as<float>() + static_cast<size_t>(i) * V,
             GemvMode::kStore);
  } else {
    linear(w_.lm_head, rows, hf, nullptr, logits_.as<float>(), GemvMode::kStore);
  }
}

std::vector<float> CudaModel::forward(std::span<const SequenceTokens> batch, bool all_logits) {
  const ProfileRange range("forward");
  int total = 0;
  const std::vector<Seq> seqs = prepare(batch, &total);
  bool fixed = fixed_rows_ > 0 && total <= fixed_rows_;
  for (const Seq& q : seqs) fixed = fixed && rows_exact(q.s->plan());
  const bool use_gemm = fixed || total >= opt_.gemm_min_rows;
  run_layers(total, fixed ? fixed_rows_ : total, use_gemm, [&](int li) {
    for (size_t si = 0; si < seqs.size(); ++si) attend_seq(li, seqs, si, total, use_gemm, fixed);
  });
  for (const Seq& q : seqs) q.s->offset_ += q.n;
  // Final norm of the rows whose logits are wanted, then lm_head.
  std::vector<int> at;
  if (all_logits) {
    for (int i = 0; i < total; ++i) at.push_back(i);
  } else {
    for (const Seq& q : seqs) at.push_back(q.start + q.n - 1);
  }
  logits(at, !fixed && static_cast<int>(at.size()) >= opt_.gemm_min_rows, /*one_by_one=*/fixed);
  std::vector<float> out(at.size() * static_cast<size_t>(args_.vocab_size));
  copy_to_host_async(ctx_, out.data(), logits_.data(), out.size() * 4);
  ctx_.sync();
  return out;
}

// The decode step for one token at *offset, reading token/offset/cos/sin from d_step_ (graph-safe).
void CudaModel::enqueue_decode(CudaSequence& s, const DecodePlan& plan) {
  const int D = args_.head_dim, V = args_.vocab_size;
  const float eps = static_cast<float>(args_.rms_norm_eps);
  int32_t* st = step_ids();
  const int* offset = st + 1;
  const float* cos = reinterpret_cast<const float*>(st + 2);
  const float* sin = cos + D / 2;
  float* x = d_x_.as<float>();
  float* qkv = d_qkv_.as<float>();
  auto* key = reinterpret_cast<unsigned long long*>(d_step_.as<char>() + step_bytes_);  // fused argmax
  embed(st, 1, x, fused_argmax_ ? key : nullptr);
  auto gemv1 = [&](const DevLinear& l, const float* in, const float* norm_w, float* y, GemvMode mode,
                   unsigned long long* argmax_key = nullptr) {
    GemvArgs g = gemv_args(l, in, y, mode);
    g.norm_w = norm_w;
    g.eps = eps;
    g.argmax = argmax_key;
    gemv(ctx_, g);
  };
  for (int li = 0; li < args_.num_hidden_layers; ++li) {
    const DevLayer& L = w_.layers[li];
    gemv1(L.qkv, x, L.ln1, qkv, GemvMode::kStore);
    AttnArgs a = layer_attention(li, s, qkv, /*n=*/1, offset, d_attn_.as<float>());  // RoPE and the K/V append fused
    a.splits = plan.splits;
    a.warps = plan.warps;
    a.head_groups = plan.head_groups;
    a.partial = d_partial_.as<float>();
    a.counters = d_counters_.as<int>();
    a.merge_later = plan.merge_later;
    a.mma = plan.mma;
    a.rope_cos = cos;
    a.rope_sin = sin;
    a.rope_traditional = rope_.traditional();
    attention(ctx_, a, s.kv_type());
    GemvArgs o = gemv_args(L.o, plan.merge_later ? a.partial : a.out, x, GemvMode::kAdd);
    if (plan.merge_later) o.merge_splits = plan.splits, o.merge_head_dim = D;  // merged as o_proj stages them
    gemv(ctx_, o);
    gemv1(L.gate_up, x, L.ln2, d_act_.as<float>(), GemvMode::kSwiGlu);
    gemv1(L.down, d_act_.as<float>(), nullptr, x, GemvMode::kAdd);
  }
  if (fused_argmax_) {  // the key was zeroed by the embedding kernel
    gemv1(w_.lm_head, x, w_.norm, d_logits_.as<float>(), GemvMode::kStore, key);
  } else {
    gemv1(w_.lm_head, x, w_.norm, d_logits_.as<float>(), GemvMode::kStore);
    argmax(ctx_, d_logits_.as<float>(), V, reinterpret_cast<int32_t*>(d_step_.as<char>() + step_bytes_));
  }
}

int32_t CudaModel::decode(SequenceState& state, int32_t token, Sampler& sampler) {
  const ProfileRange range("decode");
  auto* s = dynamic_cast<CudaSequence*>(&state);
  CPPLM_CHECK(s != nullptr, "sequence state from another device");
  const int V = args_.vocab_size, D = args_.head_dim;
  if (token < 0 || token >= V)
    throw Error("decode: token id " + std::to_string(token) + " outside the vocabulary of " + std::to_string(V));
  const int off = s->offset();
  s->ensure(ctx_, off + 1);
  auto* h = static_cast<int32_t*>(pinned_->data());
  h[0] = token;
  h[1] = off;
  float* cs = reinterpret_cast<float*>(h + 2);
  rope_.tables(&off, 1, off + 1, cs, cs + D / 2);
  // Splits grow with the cache so that long contexts still fill the GPU.
  const DecodePlan plan =
      attention_decode_plan(s->max_capacity(), D, args_.num_attention_heads, args_.num_key_value_heads, s->kv_type(),
                            ctx_.num_sms(), o_proj_merges_, opt_.decode_tensor_cores ? opt_.decode_tc_min_capacity : -1);
  // The decode step's kernels launch as programmatic dependents (forward's stay plain: cuBLAS
  // GEMMs run between them there).
  struct PdlScope {
    CudaContext& c;
    explicit PdlScope(CudaContext& ctx) : c(ctx) { c.set_pdl(true); }
    ~PdlScope() { c.set_pdl(false); }
  } pdl_scope(ctx_);
#ifdef CPPLM_CUDA_TRACE
  TraceStep trace(off);
#endif
  // The step's inputs in, its kernels, the greedy token (argmax key) out: one graph, so the GPU
  // waits on no separate copy between steps.
  auto enqueue_step = [&] {
    copy_to_device_async(ctx_, d_step_.data(), h, step_bytes_);
    enqueue_decode(*s, plan);
    copy_to_host_async(ctx_, h + step_bytes_ / 4, d_step_.as<char>() + step_bytes_, fused_argmax_ ? 8 : 4);
  };
  if (opt_.use_graph) {
    if (s->graph_.empty() || s->graph_generation_ != s->generation()) {
      s->graph_.capture(ctx_, enqueue_step);
      s->graph_generation_ = s->generation();
    }
    s->graph_.launch(ctx_);
  } else {
    enqueue_step();
  }
  s->offset_ = off + 1;
  if (sampler.plain_greedy()) {
    ctx_.sync();
    int32_t tok = h[step_bytes_ / 4];
    if (fused_argmax_) {  // (ordered value << 32 | ~row): the row is in the low word
      uint64_t key;
      std::memcpy(&key, h + step_bytes_ / 4, sizeof(key));
      tok = static_cast<int32_t>(0xffffffffu - static_cast<uint32_t>(key));
    }
    sampler.accept(tok);
    return tok;
  }
  if (opt_.device_sampling) {
    sampling_.clear();
    sampling_.add(sampler, 0);
    sampling_.enqueue(ctx_, d_logits_.as<float>(), V);
    ctx_.sync();
    const int32_t tok = sampling_.take(0);
    if (tok < 0) throw NonFiniteLogits();
    return tok;
  }
  std::vector<float> logits(V);
  copy_to_host_async(ctx_, logits.data(), d_logits_.data(), static_cast<size_t>(V) * 4);
  ctx_.sync();
  check_finite(logits);
  return sampler.sample(logits);
}

}  // namespace cuda

int cuda_device_count() { return cuda::device_count(); }

std::unique_ptr<LanguageModel> make_cuda_model(const Model& model, const CudaOptions& opts) {
  // GGUF block formats compute in f16 on the GPU (cuBLAS activations), as llama.cpp does there; their K/V
  // cache stays f32 unless asked (with f16 K/V, one of llama.cpp's five Q8_0 greedy continuations differs).
  const bool ggml = model.block_formats();
  CudaOptions o = opts;
  if (ggml && o.kv_bits == 0) o.kv_bits = 32;
  return std::make_unique<cuda::CudaModel>(model.args(), model.rope(), &model, ggml ? DType::F16 : model.model_dtype(), 0, o);
}

std::unique_ptr<LanguageModel> make_cuda_model_random(const ModelArgs& args, DType dtype, uint64_t seed,
                                                      const CudaOptions& opts) {
  CPPLM_CHECK(static_cast<int>(args.layer_types.size()) == args.num_hidden_layers, "layer_types must be resolved");
  Rope rope(args, "<random " + args.model_type + ">");
  return std::make_unique<cuda::CudaModel>(args, rope, nullptr, dtype, seed, opts);
}

double cuda_copy_bandwidth(int device, size_t bytes) { return cuda::copy_bandwidth(device, bytes); }

void cuda_fill_sequence(LanguageModel& model, SequenceState& state, int offset, uint64_t seed) {
  auto* m = dynamic_cast<cuda::CudaModel*>(&model);
  auto* s = dynamic_cast<cuda::CudaSequence*>(&state);
  CPPLM_CHECK(m && s, "cuda_fill_sequence needs a CUDA model and its sequence");
  s->fill_random(m->context(), offset, seed);
}

CudaMemory cuda_memory(const LanguageModel& model) {
  const auto* m = dynamic_cast<const cuda::CudaModel*>(&model);
  return m ? m->memory() : CudaMemory{};
}

}  // namespace cpplm
