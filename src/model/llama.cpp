// Forward pass of the Llama graph over a flattened batch of sequences.
#include "model/llama.h"

#include <cmath>

#include "core/error.h"
#include "ops/attention.h"
#include "ops/elementwise.h"

namespace cpplm {
namespace {

void ensure(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace

void Attention::forward(const float* x, const BatchLayout& b, int layer, Workspace& ws, float* out) const {
  const int n = b.total, qd = num_heads * head_dim, kd = num_kv_heads * head_dim;
  ensure(ws.q, static_cast<size_t>(n) * qd);
  ensure(ws.k, static_cast<size_t>(n) * kd);
  ensure(ws.v, static_cast<size_t>(n) * kd);
  ensure(ws.attn, static_cast<size_t>(n) * qd);
  linear(q_proj, x, n, ws.q.data());
  linear(k_proj, x, n, ws.k.data());
  linear(v_proj, x, n, ws.v.data());
  for (const BatchLayout::Seq& s : b.seqs) {
    float* q = ws.q.data() + static_cast<size_t>(s.start) * qd;
    float* k = ws.k.data() + static_cast<size_t>(s.start) * kd;
    const float* v = ws.v.data() + static_cast<size_t>(s.start) * kd;
    apply_rope(q, s.n, num_heads, head_dim, s.cos, s.sin, rope_traditional);
    apply_rope(k, s.n, num_kv_heads, head_dim, s.cos, s.sin, rope_traditional);

    KVCache& c = *s.cache->layers[layer];
    const LayerPlan& lp = s.cache->plan.layers[layer];
    AttentionParams p;
    p.n = s.n;
    p.num_heads = num_heads;
    p.num_kv_heads = num_kv_heads;
    p.head_dim = head_dim;
    p.scale = lp.scale;
    p.window = lp.window;
    p.keep = lp.keep;
    attention(p, q, k, v, c.view(), ws.attn.data() + static_cast<size_t>(s.start) * qd);
    c.append(k, v, s.n);
  }
  linear(o_proj, ws.attn.data(), n, out);
}

void MLP::forward(const float* x, int n, Workspace& ws, float* out) const {
  const size_t inter = static_cast<size_t>(gate_proj.out_features()) * n;
  ensure(ws.gate, inter);
  ensure(ws.up, inter);
  linear(gate_proj, x, n, ws.gate.data());
  linear(up_proj, x, n, ws.up.data());
  silu_mul(ws.gate.data(), ws.up.data(), static_cast<int64_t>(inter), ws.gate.data());
  linear(down_proj, ws.gate.data(), n, out);
}

void TransformerBlock::forward(float* x, const BatchLayout& b, int layer, Workspace& ws) const {
  const int dim = static_cast<int>(input_layernorm.dim(0));
  const int64_t count = static_cast<int64_t>(b.total) * dim;
  std::vector<float>& h = ws.h;
  ensure(h, count);
  std::vector<float>& r = ws.residual;  // residual branch output, reused: no allocation per step
  ensure(r, count);
  rms_norm(x, b.total, dim, input_layernorm, rms_norm_eps, h.data());
  self_attn.forward(h.data(), b, layer, ws, r.data());
  add_inplace(x, r.data(), count);
  rms_norm(x, b.total, dim, post_attention_layernorm, rms_norm_eps, h.data());
  mlp.forward(h.data(), b.total, ws, r.data());
  add_inplace(x, r.data(), count);
}

void LlamaModel::forward(const std::vector<int32_t>& ids, const BatchLayout& b, Workspace& ws, ForwardTrace* trace) const {
  const int dim = static_cast<int>(embed_tokens.in_features());
  ensure(ws.x, static_cast<size_t>(b.total) * dim);
  embedding(embed_tokens, ids.data(), b.total, ws.x.data());
  auto record = [&](const float* src) {
    if (!trace) return;
    const BatchLayout::Seq& s = b.seqs.at(trace->sequence);
    trace->hidden.emplace_back(src + static_cast<size_t>(s.start) * dim, src + static_cast<size_t>(s.start + s.n) * dim);
  };
  for (size_t l = 0; l < layers.size(); ++l) {
    record(ws.x.data());
    layers[l].forward(ws.x.data(), b, static_cast<int>(l), ws);
  }
  ensure(ws.h, static_cast<size_t>(b.total) * dim);
  rms_norm(ws.x.data(), b.total, dim, norm, rms_norm_eps, ws.h.data());
  record(ws.h.data());
}

std::vector<float> Model::forward(std::span<const SequenceInput> batch, bool all_logits, ForwardTrace* trace) {
  BatchLayout b;
  std::vector<int32_t> ids;
  for (const SequenceInput& in : batch) {
    CPPLM_CHECK(in.cache && in.cache->layers.size() == model_.layers.size(), "sequence needs a cache from make_cache()");
    if (in.tokens.empty()) throw Error("forward: a sequence of the batch has no tokens");
    b.seqs.push_back({b.total, static_cast<int>(in.tokens.size()), in.cache, nullptr, nullptr});
    b.total += static_cast<int>(in.tokens.size());
    ids.insert(ids.end(), in.tokens.begin(), in.tokens.end());
  }
  // RoPE rows per token, from each sequence's own positions and length (dynamic NTK and longrope
  // frequencies depend on it).
  const size_t half = args_.head_dim / 2;
  rope_rows_.resize(static_cast<size_t>(b.total) * 2 * half);
  float* sin_rows = rope_rows_.data() + static_cast<size_t>(b.total) * half;
  std::vector<int> positions;
  for (BatchLayout::Seq& s : b.seqs) {
    const int offset = s.cache->offset();
    positions.resize(s.n);
    for (int i = 0; i < s.n; ++i) positions[i] = offset + i;
    s.cos = rope_rows_.data() + s.start * half;
    s.sin = sin_rows + s.start * half;
    rope_.tables(positions.data(), s.n, offset + s.n, rope_rows_.data() + s.start * half, sin_rows + s.start * half);
  }
  model_.forward(ids, b, ws_, trace);

  const int dim = args_.hidden_size;
  const int64_t vocab = lm_head_.out_features();
  std::vector<float> selected;
  const float* h = ws_.h.data();
  int rows = b.total;
  if (!all_logits) {
    rows = static_cast<int>(b.seqs.size());
    selected.resize(static_cast<size_t>(rows) * dim);
    for (int i = 0; i < rows; ++i) {
      const auto& s = b.seqs[i];
      std::copy_n(h + static_cast<size_t>(s.start + s.n - 1) * dim, dim, selected.data() + static_cast<size_t>(i) * dim);
    }
    h = selected.data();
  }
  std::vector<float> logits(static_cast<size_t>(rows) * vocab);
  linear(lm_head_, h, rows, logits.data());
  return logits;
}

}  // namespace cpplm
