// CudaModel and its internals: weight upload (cuda_weights.cpp), forward pass and decode (cuda_model.cpp),
// batched decode steps (cuda_decode_batch.cpp).
#pragma once
#include <algorithm>
#include <array>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/device_ops.h"
#include "backends/cuda/kernels.h"
#include "model/rope_utils.h"
#include "runtime/cuda/cuda_model.h"
#include "runtime/cuda/cuda_sampling.h"
#include "runtime/cuda/cuda_sequence.h"

namespace cpplm::cuda {

// One projection on the device: weight [out, in] in its stored dtype, bias [out] f32 or null.
// Quantized (bits > 0): w holds the codes [out, in * bits / 32], sb the (scale, bias) pairs
// [out, in / group][2] of t (kernels.h GemvArgs), and t is also the dtype of prefill's GEMMs.
struct DevLinear {
  const void* w = nullptr;
  DType t = DType::BF16;
  int out = 0, in = 0;
  const float* bias = nullptr;
  int bits = 0, group = 0;
  const void* sb = nullptr;
  bool ggml = false;                         // codes repacked from a GGUF block format (GemvArgs::ggml_acts)
  ScaleLayout scales = ScaleLayout::kPairs;  // sb's layout (GemvArgs::scales)
  // Activations' dtype on the cuBLAS path: t, except for GGUF block formats (f16, as llama.cpp computes them).
  DType ct = DType::BF16;
};

struct DevLayer {
  DevLinear qkv;  // q, k, v rows stacked: [(heads + 2 kv_heads) * head_dim, hidden]
  DevLinear o;
  DevLinear gate_up;  // gate and up rows interleaved: [2 * intermediate, hidden]
  DevLinear down;
  const float* ln1 = nullptr;  // input_layernorm [hidden] f32
  const float* ln2 = nullptr;  // post_attention_layernorm
};

struct DevWeights {
  std::vector<DeviceBuffer> owned;
  size_t bytes = 0;
  DevLinear embed;  // [vocab, hidden]; also lm_head when tied
  const float* norm = nullptr;
  DevLinear lm_head;
  std::vector<DevLayer> layers;
};

// Uploads the bound weights of `m` (host mmap) or, when m is null, fills random ones of `dtype`.
DevWeights upload_weights(const CudaContext& ctx, const ModelArgs& args, const Model* m, DType dtype, uint64_t seed,
                          const std::function<void(size_t, size_t)>& progress);

// The Llama forward pass on one GPU over a batch of sequences, graph-replayed decode of one, and
// batched decode steps.
class CudaModel : public LanguageModel {
 public:
  CudaModel(const ModelArgs& args, const Rope& rope, const Model* m, DType dtype, uint64_t seed, const CudaOptions& o)
      : args_(args), rope_(rope), opt_(o), ctx_(o.device), dtype_(dtype) {
    w_ = upload_weights(ctx_, args_, m, dtype, seed, o.progress);
    opt_.progress = nullptr;  // the caller's callback need not outlive the construction
    if (const char* e = std::getenv("CPPLM_DECODE_TC"); e && *e) opt_.decode_tensor_cores = *e != '0';
    if (const char* e = std::getenv("CPPLM_DECODE_TC_MIN"); e && *e) opt_.decode_tc_min_capacity = std::atoi(e);
    if (const char* e = std::getenv("CPPLM_BATCH_SPLIT_KEYS"); e && *e) opt_.decode_batch_split_keys = std::atoi(e);
    opt_.decode_batch_split_keys = std::max(opt_.decode_batch_split_keys, 16);
    if (const char* e = std::getenv("CPPLM_DEVICE_SAMPLING"); e && *e) opt_.device_sampling = *e != '0';
    if (const char* e = std::getenv("CPPLM_FIXED_PREFILL"); e && *e) opt_.fixed_prefill = *e != '0';
    if (const char* e = std::getenv("CPPLM_SMALL_CHUNK_GEMM"); e && *e) opt_.small_chunk_gemm = *e != '0';
    if (opt_.decode_tensor_cores && !attention_decode_reserve_smem(o.device)) opt_.decode_tensor_cores = false;
    const int H = args_.hidden_size, I = args_.intermediate_size, D = args_.head_dim;
    qd_ = args_.num_attention_heads * D;
    kd_ = args_.num_key_value_heads * D;
    ld_ = qd_ + 2 * kd_;
    gemv_reserve_smem(std::max({H, I, qd_}), H);
    // Decode workspace (fixed addresses: the captured graph refers to them).
    d_x_ = DeviceBuffer(H * sizeof(float));
    d_qkv_ = DeviceBuffer(ld_ * sizeof(float));
    d_attn_ = DeviceBuffer(qd_ * sizeof(float));
    d_act_ = DeviceBuffer(I * sizeof(float));
    d_logits_ = DeviceBuffer(static_cast<size_t>(args_.vocab_size) * sizeof(float));
    d_partial_ =
        DeviceBuffer(static_cast<size_t>(args_.num_attention_heads) * kMaxAttnSplits * attn_partial_stride(D) * sizeof(float));
    d_counters_ = DeviceBuffer(static_cast<size_t>(args_.num_attention_heads) * sizeof(int));
    memset_async(ctx_, d_counters_.data(), d_counters_.size());
    step_bytes_ = 2 * sizeof(int32_t) + D * sizeof(float);   // token, offset, cos[D/2], sin[D/2]
    d_step_ = DeviceBuffer(step_bytes_ + sizeof(uint64_t));  // then the greedy token (argmax key)
    pinned_ = std::make_unique<PinnedBuffer>(step_bytes_ + sizeof(uint64_t));
    fused_argmax_ = !w_.lm_head.bias && (w_.lm_head.bits || H % 8 == 0);  // gemv: 16-byte rows
    // Every layer's o_proj (quantization may be set per module).
    o_proj_merges_ = std::all_of(w_.layers.begin(), w_.layers.end(),
                                 [](const DevLayer& L) { return gemv_merges_partials(L.o.t, L.o.bits, L.o.in); });
    std::string name = ctx_.props().name;
    device_ = "cuda:" + std::to_string(o.device) + " (" + name + ")";
  }

  const ModelArgs& args() const override { return args_; }
  std::string device() const override { return device_; }

  std::unique_ptr<SequenceState> make_sequence(const CacheOptions& opts) override {
    CacheOptions o = opts;
    if (o.kv_bits == 0) o.kv_bits = opt_.kv_bits;
    SequencePlan plan = plan_sequence(args_, dtype_, o);
    CudaKVPool* pool = pool_ && pool_->type() == plan.kv_type ? pool_.get() : nullptr;
    auto s = std::make_unique<CudaSequence>(std::move(plan), args_.num_key_value_heads, args_.head_dim, pool);
    s->set_context(&ctx_);
    return s;
  }
  KVPool* enable_kv_pool(size_t bytes, int block_size, const CacheOptions& opts) override;

  std::vector<float> forward(std::span<const SequenceTokens> batch, bool all_logits) override;
  // forward() of at most `rows` tokens in all pads its GEMMs to `rows` rows, takes a chunk attention
  // kernel for any token count and computes each sequence's logits alone (cuda_model.cpp).
  bool fix_prefill_rows(int rows, const CacheOptions& opts) override;
  int32_t decode(SequenceState& state, int32_t token, Sampler& sampler) override;
  // Every weight format; quantized steps of more than 32 rows dequantize as they go (cuda_decode_batch.cpp).
  int max_decode_batch() const override { return opt_.decode_batch_rows; }
  void decode_batch(std::span<DecodeRow> rows) override;  // cuda_decode_batch.cpp

  const CudaContext& context() const { return ctx_; }
  CudaMemory memory() const {
    size_t ws = 0;
    for (const DeviceBuffer* b : {&d_x_, &d_qkv_, &d_attn_, &d_act_, &d_logits_, &d_partial_, &d_counters_, &d_step_})
      ws += b->size();
    for (const DeviceBuffer* b : step_buffers()) ws += b->size();
    return {w_.bytes, ws};
  }

 private:
  struct Seq {
    int start, n;
    CudaSequence* s;
  };
  // Attention of layer i for n tokens of sequence s (q, k, v in qkv rows, ld apart): the model's
  // heads and the sequence's plan for this layer (window, sinks, scale) and cache.
  AttnArgs layer_attention(int i, const CudaSequence& s, const float* qkv, int n, const int* offset, float* out) const {
    const LayerPlan& l = s.plan().layers[i];
    AttnArgs a;
    a.qkv = qkv;
    a.n = n;
    a.ld = ld_;
    a.num_heads = args_.num_attention_heads;
    a.num_kv_heads = args_.num_key_value_heads;
    a.head_dim = args_.head_dim;
    a.window = l.window;
    a.keep = l.keep;
    a.scale = l.scale;
    a.cache = s.layer(i);
    a.offset = offset;
    a.out = out;
    return a;
  }
  void linear(const DevLinear& l, int n, const float* xf, const void* x16, float* y, GemvMode mode);
  // Checks the batch, makes room in every cache for its new tokens, and writes the token ids to
  // ids [total] and the tables to tab: RoPE cos [rows, D/2], then sin [rows, D/2], then each
  // sequence's offset (rows >= total; what lies past total is left alone). Returns the sequences' rows.
  std::vector<Seq> stage(std::span<const SequenceTokens> batch, int rows, int32_t* ids, float* tab);
  // stage() with rows = total, uploaded to ids_ and tables_; *total: the tokens of all.
  std::vector<Seq> prepare(std::span<const SequenceTokens> batch, int* total);
  // Embeds ids_ (`total` tokens) into x_ and runs every layer over n >= total rows (rows from total:
  // zeros, so that GEMMs take a fixed shape); attend(layer) fills attn_'s first total rows from qkv_
  // (and extends the caches). use_gemm: projections through cuBLAS GEMMs, else the f32 GEMV.
  void run_layers(int total, int n, bool use_gemm, const std::function<void(int)>& attend);
  // forward's attention for one sequence's chunk at layer li (RoPE, K/V append, attention); fixed:
  // the chunk kernels whatever its size (fix_prefill_rows).
  void attend_seq(int li, const std::vector<Seq>& seqs, size_t si, int total, bool use_gemm, bool fixed);
  // Whether every layer's attention for a sequence of `plan` computes a chunk's rows independently of
  // the chunk (forward() asks it of each sequence, as their plans may differ from fix_prefill_rows').
  bool rows_exact(const SequencePlan& plan) const;
  // The final norm and lm_head of `rows` rows of x_ (row i at x_ row at[i]) into logits_ [rows, vocab].
  // one_by_one: the f32 GEMV of each row alone (its logits as in any other call).
  void logits(const std::vector<int>& at, bool use_gemm, bool one_by_one = false);
  void embed(const int32_t* ids, int n, float* x, unsigned long long* zero = nullptr);
  void enqueue_decode(CudaSequence& s, const DecodePlan& plan);
  int32_t* step_ids() const { return d_step_.as<int32_t>(); }
  // The buffers of forward() and decode_batch() (grown on demand), and a digest of their addresses
  // and h_step_'s (decode_batch's graphs hold them).
  std::array<const DeviceBuffer*, 16> step_buffers() const {
    return {&x_,   &hn_,     &hf_,  &qkv_,    &attn_,      &gu_,         &act_,         &tables_,
            &ids_, &logits_, &deq_, &b_seqs_, &b_partial_, &b_counters_, &d_batch_ids_, &split_};
  }
  uint64_t buffers_key() const;
  // Whether decode_batch runs the quantized int8 GEMV over its rows (quant_rows_) rather than GEMMs.
  bool quant_rows_gemv() const;

  ModelArgs args_;
  Rope rope_;
  CudaOptions opt_;
  CudaContext ctx_;
  std::unique_ptr<CudaKVPool> pool_;  // enable_kv_pool (after ctx_: freed before it)
  DType dtype_;                       // the model's float dtype (the plan's default K/V storage)
  DevWeights w_;
  int qd_ = 0, kd_ = 0, ld_ = 0;
  bool fused_argmax_ = false;   // greedy decode: the lm_head GEMV picks the token
  bool o_proj_merges_ = false;  // decode: the o_proj GEMV can merge attention's split partials
  bool quant_rows_ = false;     // linear(): quantized weights take several rows through the GEMV
  int fixed_rows_ = 0;          // fix_prefill_rows (0: off)
  std::string device_;
  // decode
  DeviceBuffer d_x_, d_qkv_, d_attn_, d_act_, d_logits_, d_partial_, d_counters_, d_step_;
  size_t step_bytes_ = 0;
  std::unique_ptr<PinnedBuffer> pinned_;
  // forward (grown on demand)
  DeviceBuffer x_, hn_, hf_, qkv_, attn_, gu_, act_, tables_, ids_, logits_;
  DeviceBuffer deq_;    // quantized weights: one dequantized slice for cuBLAS (prefill)
  DeviceBuffer split_;  // f32 rows of a small chunk as 16-bit hi and lo halves (linear)
  // batched decode steps: the sequences' DecodeSeq [layers][batch], split partials and counters (zero between steps)
  DeviceBuffer b_seqs_, b_partial_, b_counters_, d_batch_ids_;
  std::unique_ptr<PinnedBuffer> h_logits_;  // logits of rows sampled on the host
  DeviceSampling sampling_;                 // rows sampled on the device
  size_t h_logits_bytes_ = 0;
  std::unique_ptr<PinnedBuffer> h_step_;  // a batched step's inputs and greedy ids (decode_batch)
  size_t h_step_bytes_ = 0;
  GraphCache step_graphs_;  // batched steps by (rows, attention splits, K/V type)
};

}  // namespace cpplm::cuda
