// The Llama-family model, class for class as mlx-lm models/llama.py (ModelArgs .. Model).
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/config.h"
#include "io/safetensors.h"
#include "model/cache.h"
#include "model/rope_utils.h"
#include "ops/linear.h"

namespace cpplm {

// One sequence of a batch: its new tokens and its cache (positions continue from cache->offset()).
struct SequenceInput {
  std::span<const int32_t> tokens;
  SequenceCache* cache = nullptr;
};

// Optional capture of intermediate activations (tests compare them with transformers).
struct ForwardTrace {
  int sequence = 0;                       // which sequence of the batch to record
  std::vector<std::vector<float>> hidden;  // [num_layers + 1] of [n, hidden]: layer inputs, then the final norm output
};

// Reusable activation buffers of one forward call (grown on demand).
struct Workspace {
  std::vector<float> x, h, q, k, v, attn, gate, up, cos, sin, residual;
  std::vector<int> positions;
};

// Per-sequence view of a flattened batch: rows [start, start + n) of every activation.
struct BatchLayout {
  struct Seq {
    int start, n, offset;
    SequenceCache* cache;
  };
  std::vector<Seq> seqs;
  int total = 0;
};

class Attention {
 public:
  Linear q_proj, k_proj, v_proj, o_proj;
  int num_heads = 0, num_kv_heads = 0, head_dim = 0;
  int sliding_window = 0;  // 0 = full attention
  float scale = 1.0f;
  const Rope* rope = nullptr;

  // x [total, hidden] -> out [total, hidden]; appends this layer's K/V to each cache.
  void forward(const float* x, const BatchLayout& b, int layer, Workspace& ws, float* out) const;
};

class MLP {
 public:
  Linear gate_proj, up_proj, down_proj;
  // down_proj(silu(gate_proj(x)) * up_proj(x)); x [n, hidden] -> out [n, hidden].
  void forward(const float* x, int n, Workspace& ws, float* out) const;
};

class TransformerBlock {
 public:
  Attention self_attn;
  MLP mlp;
  TensorView input_layernorm, post_attention_layernorm;
  float rms_norm_eps = 1e-6f;
  // Pre-norm residual block; updates x [total, hidden] in place.
  void forward(float* x, const BatchLayout& b, int layer, Workspace& ws) const;
};

class LlamaModel {
 public:
  Linear embed_tokens;  // [vocab, hidden], float or mlx-quantized (nn.Embedding / QuantizedEmbedding)
  std::vector<TransformerBlock> layers;
  TensorView norm;
  float rms_norm_eps = 1e-6f;
  // Embeds all tokens, runs the layers, applies the final norm: x [total, hidden].
  void forward(const std::vector<int32_t>& ids, const BatchLayout& b, Workspace& ws, ForwardTrace* trace) const;
};

class Model {
 public:
  // Loads config.json (or `config_file` inside dir) and the safetensors weights of `dir`.
  // Throws Error naming the file and field/tensor at fault.
  static std::unique_ptr<Model> load(const std::string& dir, const std::string& config_file = "config.json");

  const ModelArgs& args() const { return args_; }
  const WeightStore& weights() const { return weights_; }
  bool tied_embeddings() const { return tied_; }
  // Float dtype of the weights (that of embed_tokens, or of its scales when quantized).
  DType model_dtype() const { return model_.embed_tokens.float_dtype(); }
  // The bound weights and RoPE (device backends upload from these).
  const LlamaModel& llama() const { return model_; }
  const Linear& lm_head() const { return lm_head_; }
  const Rope& rope() const { return *rope_; }

  // The KV cache storage of the model's float dtype (f32, bf16 or f16; mlx-lm's KVCache holds
  // the dtype the model computes in).
  KVType default_kv_type() const;
  // One cache per layer; sliding layers get a RotatingKVCache of the window. With max_kv_size,
  // full-attention layers get a RotatingKVCache of that size keeping 4 sink tokens (mlx-lm).
  SequenceCache make_cache(std::optional<int> max_kv_size = std::nullopt) const { return make_cache(max_kv_size, default_kv_type()); }
  SequenceCache make_cache(std::optional<int> max_kv_size, KVType type) const;

  // Runs every sequence's new tokens through the model, extending its cache. Returns logits
  // [rows, vocab] f32: all new tokens of every sequence in order when all_logits, else the last
  // token of each sequence. Not thread-safe (one workspace per model).
  std::vector<float> forward(std::span<const SequenceInput> batch, bool all_logits, ForwardTrace* trace = nullptr);

  // A model over tensors held in memory (random weights for `cpplm bench`, tests), named as in a
  // checkpoint; bound with the same checks as load(). `label` names the source in errors.
  static std::unique_ptr<Model> from_tensors(ModelArgs args, std::map<std::string, Tensor> tensors,
                                             const std::string& label = "<memory>");
  // Bytes of all bound weights (one decode step reads each once), and the parameter count.
  size_t weight_bytes() const;
  int64_t num_params() const;

  // mlx-lm Model.sanitize: the tensor names the model will bind (drops rotary inv_freq, tied lm_head).
  static std::vector<std::string> sanitize(std::vector<std::string> names, bool tied);

  struct TensorLookup;  // where binding finds tensors (llama_load.cpp)

 private:
  ModelArgs args_;
  WeightStore weights_;
  bool tied_ = false;
  std::unique_ptr<Rope> rope_;
  LlamaModel model_;
  Linear lm_head_;
  Workspace ws_;
  std::map<std::string, Tensor> owned_;  // from_tensors() storage

  static void bind(Model& m, const TensorLookup& look, const std::string& config);
};

}  // namespace cpplm
