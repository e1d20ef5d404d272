// The Llama-family model, class for class as mlx-lm models/llama.py (ModelArgs .. Model): each
// class binds its own weights by Hugging Face name in its constructor and runs its own forward.
#pragma once
#include <array>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/config.h"
#include "io/safetensors.h"
#include "model/cache.h"
#include "model/layer_plan.h"
#include "model/rope_utils.h"
#include "model/weight_binder.h"
#include "ops/linear.h"

namespace cpplm {

// One sequence of a batch: its new tokens and its cache (positions continue from cache->offset()).
struct SequenceInput {
  std::span<const int32_t> tokens;
  SequenceCache* cache = nullptr;
};

// Optional capture of intermediate activations (tests compare them with transformers).
struct ForwardTrace {
  int sequence = 0;                        // which sequence of the batch to record
  std::vector<std::vector<float>> hidden;  // [num_layers + 1] of [n, hidden]: layer inputs, then the final norm output
};

// Activation buffers of one forward call over `total` tokens (grown on demand, reused across calls).
struct Workspace {
  std::vector<float> x;         // [total, hidden] the residual stream
  std::vector<float> h;         // [total, hidden] normed input of a block's branch; the final norm's output
  std::vector<float> residual;  // [total, hidden] a branch's output before it is added to x
  std::vector<float> q;         // [total, num_heads, head_dim]
  std::vector<float> k, v;      // [total, num_kv_heads, head_dim] the new tokens' keys / values
  std::vector<float> attn;      // [total, num_heads, head_dim] attention output, o_proj's input
  std::vector<float> gate, up;  // [total, intermediate] (gate then holds silu(gate) * up)
};

// Per-sequence view of a flattened batch: rows [start, start + n) of every activation.
struct BatchLayout {
  struct Seq {
    int start, n;
    SequenceCache* cache;
    const float* cos;  // [n, head_dim / 2] this sequence's RoPE rows (Rope::tables at its positions)
    const float* sin;
  };
  std::vector<Seq> seqs;
  int total = 0;
};

class Attention {
 public:
  // prefix: "model.layers.N.self_attn".
  Attention(const ModelArgs& args, WeightBinder& w, const std::string& prefix);
  Linear q_proj, k_proj, v_proj, o_proj;
  int num_heads, num_kv_heads, head_dim;
  bool rope_traditional;

  // x [total, hidden] -> out [total, hidden]; appends this layer's K/V to each cache. Window,
  // sinks and scale come from each sequence's plan (cache->plan.layers[layer]).
  void forward(const float* x, const BatchLayout& b, int layer, Workspace& ws, float* out) const;
};

class MLP {
 public:
  MLP(const ModelArgs& args, WeightBinder& w, const std::string& prefix);  // prefix: "model.layers.N.mlp"
  Linear gate_proj, up_proj, down_proj;
  // down_proj(silu(gate_proj(x)) * up_proj(x)); x [n, hidden] -> out [n, hidden].
  void forward(const float* x, int n, Workspace& ws, float* out) const;
};

// A projection of a block with its name relative to the block ("self_attn.q_proj").
struct NamedLinear {
  const char* name;
  const Linear* linear;
};

class TransformerBlock {
 public:
  TransformerBlock(const ModelArgs& args, WeightBinder& w, const std::string& prefix);  // prefix: "model.layers.N"
  Attention self_attn;
  MLP mlp;
  TensorView input_layernorm, post_attention_layernorm;  // [hidden]
  float rms_norm_eps;
  // Pre-norm residual block; updates x [total, hidden] in place.
  void forward(float* x, const BatchLayout& b, int layer, Workspace& ws) const;
  // The block's projections in graph order (q, k, v, o, gate, up, down): parameter counts, weight
  // bytes and the device uploads walk this one list.
  std::array<NamedLinear, 7> linears() const;
  size_t nbytes() const;  // weights of the projections and norms
};

class LlamaModel {
 public:
  LlamaModel(const ModelArgs& args, WeightBinder& w);
  Linear embed_tokens;  // [vocab, hidden], float or mlx-quantized (nn.Embedding / QuantizedEmbedding)
  std::vector<TransformerBlock> layers;
  TensorView norm;  // [hidden]
  float rms_norm_eps;
  // Embeds all tokens, runs the layers, applies the final norm into ws.h [total, hidden].
  void forward(const std::vector<int32_t>& ids, const BatchLayout& b, Workspace& ws, ForwardTrace* trace) const;
};

class Model {
 public:
  // Loads config.json (or `config_file` inside dir) and the safetensors weights of `dir`.
  // Throws Error naming the file and field/tensor at fault.
  static std::unique_ptr<Model> load(const std::string& dir, const std::string& config_file = "config.json");
  // A model over tensors held in memory (random weights for `cpplm bench`, tests), named as in a
  // checkpoint; bound with the same checks as load(). `label` names the source in errors.
  static std::unique_ptr<Model> from_tensors(ModelArgs args, std::map<std::string, Tensor> tensors,
                                             const std::string& label = "<memory>");
  // The same with some tensors in llama.cpp's block formats (random GGUF-type weights).
  static std::unique_ptr<Model> from_tensors(ModelArgs args, std::map<std::string, Tensor> tensors,
                                             std::map<std::string, GgmlWeight> ggml, const std::string& label);

  const ModelArgs& args() const { return args_; }
  bool tied_embeddings() const { return tied_; }
  // Float dtype of the weights (that of embed_tokens, or of its scales when quantized).
  DType model_dtype() const { return model_.embed_tokens.float_dtype(); }
  // Whether any projection, embed_tokens or lm_head is stored in one of llama.cpp's block formats.
  bool block_formats() const;
  // The bound weights and RoPE (device executors upload from these).
  const LlamaModel& llama() const { return model_; }
  const Linear& lm_head() const { return lm_head_; }
  const Rope& rope() const { return rope_; }

  // The layer plan and caches of a new sequence (mlx-lm make_prompt_cache): see plan_sequence.
  SequencePlan plan(const CacheOptions& opts = {}) const { return plan_sequence(args_, model_dtype(), opts); }
  SequenceCache make_cache(const CacheOptions& opts = {}) const { return make_cache(plan(opts)); }
  // With `pool`, the caches take their rows from its blocks (paged; plan.kv_type must be the pool's).
  SequenceCache make_cache(SequencePlan plan, KVPoolStorage* pool = nullptr) const;

  // Runs every sequence's new tokens through the model, extending its cache. Returns logits
  // [rows, vocab] f32: all new tokens of every sequence in order when all_logits, else the last
  // token of each sequence. Not thread-safe (one workspace per model).
  std::vector<float> forward(std::span<const SequenceInput> batch, bool all_logits, ForwardTrace* trace = nullptr);

  // Bytes of all bound weights (one decode step reads each once), and the parameter count.
  size_t weight_bytes() const;
  int64_t num_params() const;

  // mlx-lm Model.sanitize: the tensor names the model will bind (drops rotary inv_freq, tied lm_head).
  static std::vector<std::string> sanitize(std::vector<std::string> names, bool tied);

 private:
  // Binds every tensor of `src` (a checkpoint or tensors in memory) for args; `config` names the
  // configuration in errors.
  Model(ModelArgs args, WeightSource src, const std::string& config);

  ModelArgs args_;
  WeightSource src_;  // owns the mapping or the tensors every TensorView below points into
  bool tied_;
  Rope rope_;
  std::unique_ptr<WeightBinder> binder_;  // during construction only
  LlamaModel model_;
  Linear lm_head_;
  Workspace ws_;
  std::vector<float> rope_rows_;  // [total, head_dim] a forward call's cos rows, then its sin rows
};

}  // namespace cpplm
