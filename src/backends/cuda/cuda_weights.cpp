// Weight upload for CudaModel: fused q/k/v and interleaved gate/up matrices, f32 norms and biases.
#include <cmath>

#include "backends/cuda/cuda_model_impl.h"

namespace cpplm::cuda {
namespace {

std::vector<float> to_f32_host(const TensorView& t) {
  std::vector<float> out(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (t.dtype == DType::F32) out[i] = t.as<float>()[i];
    else if (t.dtype == DType::BF16) out[i] = bf16_to_f32(t.as<uint16_t>()[i]);
    else out[i] = f16_to_f32(t.as<uint16_t>()[i]);
  }
  return out;
}

class Uploader {
 public:
  Uploader(const CudaContext& ctx, DevWeights& w, uint64_t seed) : ctx_(ctx), w_(w), seed_(seed) {}

  void* alloc(size_t bytes) {
    w_.owned.emplace_back(bytes);
    w_.bytes += bytes;
    return w_.owned.back().data();
  }
  const float* f32(const TensorView* t, int64_t n, float fill) {
    float* d = static_cast<float*>(alloc(n * sizeof(float)));
    if (t) {
      std::vector<float> h = to_f32_host(*t);
      CPPLM_CUDA_CHECK(cudaMemcpy(d, h.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    } else {
      fill_value(ctx_, d, n, fill);
    }
    return d;
  }
  // Rows of `parts` stacked (interleave = false) or interleaved row by row (gate/up).
  DevLinear linear(const std::vector<const Linear*>& parts, int out, int in, DType t, bool interleave) {
    DevLinear l;
    l.out = out;
    l.in = in;
    l.t = parts.empty() ? t : parts[0]->weight.dtype;
    const size_t es = dtype_size(l.t), row = static_cast<size_t>(in) * es;
    char* d = static_cast<char*>(alloc(static_cast<size_t>(out) * row));
    l.w = d;
    if (parts.empty()) {
      fill_random(ctx_, d, l.t, static_cast<int64_t>(out) * in, std::sqrt(3.0f / in), seed_++);
      return l;
    }
    size_t done = 0;
    bool any_bias = false;
    for (size_t k = 0; k < parts.size(); ++k) {
      const Linear* p = parts[k];
      if (p->weight.dtype != l.t) throw Error("CUDA: fused projections need one dtype, got " + std::string(dtype_name(p->weight.dtype)));
      any_bias |= !p->bias.empty();
      const size_t rows = p->weight.dim(0);
      if (interleave)
        CPPLM_CUDA_CHECK(cudaMemcpy2D(d + k * row, 2 * row, p->weight.data, row, row, rows, cudaMemcpyHostToDevice));
      else
        CPPLM_CUDA_CHECK(cudaMemcpy(d + done * row, p->weight.data, rows * row, cudaMemcpyHostToDevice));
      done += rows;
    }
    if (any_bias) {
      std::vector<float> b(out, 0.0f);
      size_t at = 0;
      for (size_t k = 0; k < parts.size(); ++k) {
        const Linear* p = parts[k];
        const size_t rows = p->weight.dim(0);
        if (!p->bias.empty()) {
          std::vector<float> pb = to_f32_host(p->bias);
          for (size_t r = 0; r < rows; ++r) b[interleave ? 2 * r + k : at + r] = pb[r];
        }
        at += rows;
      }
      float* db = static_cast<float*>(alloc(out * sizeof(float)));
      CPPLM_CUDA_CHECK(cudaMemcpy(db, b.data(), out * sizeof(float), cudaMemcpyHostToDevice));
      l.bias = db;
    }
    return l;
  }

 private:
  const CudaContext& ctx_;
  DevWeights& w_;
  uint64_t seed_;
};

}  // namespace

DevWeights upload_weights(const CudaContext& ctx, const ModelArgs& a, const Model* m, DType dtype, uint64_t seed,
                          const std::function<void(size_t, size_t)>& progress) {
  DevWeights w;
  Uploader up(ctx, w, seed);
  const int H = a.hidden_size, I = a.intermediate_size, D = a.head_dim;
  const int qd = a.num_attention_heads * D, kd = a.num_key_value_heads * D;
  const LlamaModel* lm = m ? &m->llama() : nullptr;
  size_t total = 0;
  if (lm) {
    for (const Linear* q : {&lm->embed_tokens, &m->lm_head()})
      if (q->quantized()) throw Error("device cuda: quantized checkpoints are not supported on the GPU yet");
    for (const auto& l : lm->layers)
      for (const Linear* q : {&l.self_attn.q_proj, &l.self_attn.k_proj, &l.self_attn.v_proj, &l.self_attn.o_proj,
                              &l.mlp.gate_proj, &l.mlp.up_proj, &l.mlp.down_proj})
        if (q->quantized()) throw Error("device cuda: quantized checkpoints are not supported on the GPU yet");
    total = lm->embed_tokens.weight.nbytes();
    for (const auto& l : lm->layers) {
      const auto& at = l.self_attn;
      for (const Linear* p : {&at.q_proj, &at.k_proj, &at.v_proj, &at.o_proj, &l.mlp.gate_proj, &l.mlp.up_proj, &l.mlp.down_proj})
        total += p->weight.nbytes();
    }
    if (!m->tied_embeddings()) total += m->lm_head().weight.nbytes();
  }
  size_t done = 0;
  auto report = [&](size_t bytes) {
    done += bytes;
    if (progress && total) progress(done, total);
  };

  const size_t embed_bytes = static_cast<size_t>(a.vocab_size) * H * dtype_size(lm ? lm->embed_tokens.weight.dtype : dtype);
  void* e = up.alloc(embed_bytes);
  w.embed = e;
  w.embed_t = lm ? lm->embed_tokens.weight.dtype : dtype;
  if (lm) CPPLM_CUDA_CHECK(cudaMemcpy(e, lm->embed_tokens.weight.data, embed_bytes, cudaMemcpyHostToDevice));
  else fill_random(ctx, e, dtype, static_cast<int64_t>(a.vocab_size) * H, 1.0f, seed + 1000003);
  report(embed_bytes);

  w.layers.resize(a.num_hidden_layers);
  for (int i = 0; i < a.num_hidden_layers; ++i) {
    DevLayer& d = w.layers[i];
    const TransformerBlock* b = lm ? &lm->layers[i] : nullptr;
    using P = std::vector<const Linear*>;
    d.qkv = up.linear(b ? P{&b->self_attn.q_proj, &b->self_attn.k_proj, &b->self_attn.v_proj} : P{}, qd + 2 * kd, H, dtype, false);
    d.o = up.linear(b ? P{&b->self_attn.o_proj} : P{}, H, qd, dtype, false);
    d.gate_up = up.linear(b ? P{&b->mlp.gate_proj, &b->mlp.up_proj} : P{}, 2 * I, H, dtype, true);
    d.down = up.linear(b ? P{&b->mlp.down_proj} : P{}, H, I, dtype, false);
    d.ln1 = up.f32(b ? &b->input_layernorm : nullptr, H, 1.0f);
    d.ln2 = up.f32(b ? &b->post_attention_layernorm : nullptr, H, 1.0f);
    d.sliding_window = a.is_sliding(i) ? a.sliding_window.value_or(0) : 0;
    if (b) {
      size_t bytes = 0;
      for (const DevLinear* l : {&d.qkv, &d.o, &d.gate_up, &d.down}) bytes += static_cast<size_t>(l->out) * l->in * dtype_size(l->t);
      report(bytes);
    }
  }
  w.norm = up.f32(lm ? &lm->norm : nullptr, H, 1.0f);
  const bool tied = m ? m->tied_embeddings() : a.tie_word_embeddings.value_or(true);
  if (tied) {
    w.lm_head = DevLinear{w.embed, w.embed_t, a.vocab_size, H, nullptr};
  } else {
    w.lm_head = up.linear(m ? std::vector<const Linear*>{&m->lm_head()} : std::vector<const Linear*>{}, a.vocab_size, H, dtype, false);
    if (m) report(m->lm_head().weight.nbytes());
  }
  ctx.sync();
  return w;
}

}  // namespace cpplm::cuda
