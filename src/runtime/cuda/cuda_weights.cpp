// Weight upload for CudaModel: fused q/k/v and interleaved gate/up matrices (float or mlx-quantized
// codes with their scale/bias rows placed alike; GGUF block formats that are affine per group repacked
// to the same layout, others dequantized), f32 norms and biases.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "backends/cuda/device_ops.h"
#include "ops/linear.h"
#include "runtime/cuda/cuda_model_impl.h"

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
      upload(d, h.data(), n * sizeof(float));
    } else {
      fill_value(ctx_, d, n, fill);
    }
    return d;
  }
  // Rows of `parts` stacked (interleave = false) or interleaved row by row (gate/up). With no parts,
  // random weights of `t` (mlx-quantized when `rq` is set); `scale`: their amplitude (0: sqrt(3 / in)).
  DevLinear linear(const std::vector<const Linear*>& parts, int out, int in, DType t, bool interleave,
                   const QuantSpec* rq = nullptr, float scale = 0.0f) {
    DevLinear l;
    l.out = out;
    l.in = in;
    if (parts.empty()) {
      l.t = l.ct = t;
      if (scale == 0.0f) scale = std::sqrt(3.0f / in);
      if (rq) {
        if (!gemv_quant_supported(rq->bits, rq->group_size) || in % rq->group_size)
          throw Error("CUDA: random " + std::to_string(rq->bits) + "-bit weights of group " + std::to_string(rq->group_size) +
                      " are not supported");
        l.bits = rq->bits, l.group = rq->group_size;
        auto* c = static_cast<uint32_t*>(alloc(static_cast<size_t>(out) * in * l.bits / 8));
        fill_random_bits(ctx_, c, static_cast<int64_t>(out) * in * l.bits / 32, seed_++);
        const int64_t pairs = static_cast<int64_t>(out) * (in / l.group);
        void* sb = alloc(pairs * 2 * dtype_size(t));
        fill_random(ctx_, sb, t, 2 * pairs, scale / (1 << l.bits), seed_++);
        l.w = c, l.sb = sb;
      } else {
        void* d = alloc(static_cast<size_t>(out) * in * dtype_size(t));
        fill_random(ctx_, d, t, static_cast<int64_t>(out) * in, scale, seed_++);
        l.w = d;
      }
      return l;
    }
    const Linear& p0 = *parts[0];
    l.t = l.ct = p0.float_dtype();
    bool same = true;  // one storage format for every part
    for (const Linear* p : parts)
      same &=
          p->bits == p0.bits && p->group_size == p0.group_size && p->weight.dtype == p0.weight.dtype && p->float_dtype() == l.t;
    // GGUF block formats that are affine per group run as mlx-format codes with f32 scales and biases.
    std::vector<AffineWeight> aff;
    if (p0.ggml()) {
      aff.resize(parts.size());
      bool ok = true;
      for (size_t k = 0; k < parts.size() && ok; ++k)
        ok = ggml_affine(*parts[k], aff[k]) && aff[k].bits == aff[0].bits && aff[k].group == aff[0].group;
      if (!ok || !gemv_quant_supported(aff[0].bits, aff[0].group)) aff.clear();
    }
    if (!aff.empty()) {
      l.bits = aff[0].bits, l.group = aff[0].group, l.ggml = true, l.ct = DType::F16;
      size_t k = 0;
      l.w = upload_rows(parts, static_cast<size_t>(in) * l.bits / 8, interleave,
                        [&](const Linear*) { return static_cast<const void*>(aff[k++].codes.data()); });
      const std::vector<std::vector<char>> sb = pack_affine(aff, l);
      k = 0;
      l.sb = upload_rows(parts, sb[0].size() / parts[0]->weight.dim(0), interleave,
                         [&](const Linear*) { return static_cast<const void*>(sb[k++].data()); });
    } else if (same && p0.quantized() && gemv_quant_supported(p0.bits, p0.group_size)) {
      l.bits = p0.bits, l.group = p0.group_size;
      l.w = upload_rows(parts, static_cast<size_t>(in) * l.bits / 8, interleave, [](const Linear* p) { return p->weight.data; });
      std::vector<std::pair<const void*, const void*>> sb;
      for (const Linear* p : parts) sb.emplace_back(p->scales.data, p->biases.data);
      l.sb = upload_pairs(parts, sb, out, in / l.group, dtype_size(l.t), interleave);
    } else if (same && !p0.quantized() && !p0.ggml()) {
      l.w = upload_rows(parts, static_cast<size_t>(in) * dtype_size(l.t), interleave,
                        [](const Linear* p) { return p->weight.data; });
    } else {
      // Mixed formats, bits the GEMV does not take (2, 3, 5, 6), GGUF types that are not affine per group or
      // whose parts differ in bits or group: dequantized here to the float dtype (f16 for GGUF block formats).
      if (p0.ggml()) l.t = l.ct = DType::F16;
      const size_t es = dtype_size(l.t);
      std::vector<std::vector<char>> conv;
      for (const Linear* p : parts) {
        const size_t n = static_cast<size_t>(p->out_features()) * in;
        std::vector<float> f(n);
        dequantize(*p, f.data());  // any storage to f32
        std::vector<char> c(n * es);
        for (size_t i = 0; i < n; ++i) {
          if (l.t == DType::F32) std::memcpy(c.data() + 4 * i, &f[i], 4);
          else {
            const uint16_t v = l.t == DType::BF16 ? f32_to_bf16(f[i]) : f32_to_f16(f[i]);
            std::memcpy(c.data() + 2 * i, &v, 2);
          }
        }
        conv.push_back(std::move(c));
      }
      size_t k = 0;
      l.w = upload_rows(parts, static_cast<size_t>(in) * es, interleave,
                        [&](const Linear*) { return static_cast<const void*>(conv[k++].data()); });
    }
    l.bias = upload_bias(parts, out, interleave);
    return l;
  }

 private:
  // Each part's scales and biases as the GEMV reads them, and the layout in l (scales, t), as compact as stays
  // exact: f16 scales alone where every bias is -2^(bits-1)·scale and every scale an f16 value (Q8_0, Q4_0:
  // llama.cpp's bytes per group); Q4_K / Q5_K's records of f16 d, dmin and 6-bit (sc, m) bytes (0.625 bits a
  // weight against llama.cpp's 0.5); f32 scales alone where every bias is -32·scale (Q6_K as 8-bit codes: 2 bits
  // a weight in groups of 16); else (scale, bias) pairs, f16 where all are f16 values (Q4_1, Q5_0, Q5_1).
  static std::vector<std::vector<char>> pack_affine(const std::vector<AffineWeight>& aff, DevLinear& l) {
    std::vector<std::vector<char>> out;
    const bool krec = l.group == 32 && l.in % 256 == 0 &&
                      std::all_of(aff.begin(), aff.end(), [](const AffineWeight& a) { return !a.kscales.empty(); });
    if (krec) {
      l.scales = ScaleLayout::kKRecords, l.t = DType::F16;
      for (const AffineWeight& a : aff) out.emplace_back(a.kscales.begin(), a.kscales.end());
      return out;
    }
    const float z = static_cast<float>(1 << (l.bits - 1));
    auto f16_exact = [](float v) { return std::isfinite(v) && f16_to_f32(f32_to_f16(v)) == v; };
    bool f16 = true, sym = true, q6 = l.bits == 8;
    for (const AffineWeight& a : aff)
      for (size_t i = 0; i < a.scales.size(); ++i) {
        f16 &= f16_exact(a.scales[i]) && f16_exact(a.biases[i]);
        sym &= a.biases[i] == -z * a.scales[i];
        q6 &= a.biases[i] == -32.0f * a.scales[i];
      }
    const bool f16_alone = sym && f16, q6_alone = !f16_alone && q6, half = f16 && !q6_alone;
    l.scales = f16_alone ? ScaleLayout::kScalesF16 : q6_alone ? ScaleLayout::kScalesF32 : ScaleLayout::kPairs;
    l.t = half ? DType::F16 : DType::F32;
    const size_t es = dtype_size(l.t), per = f16_alone || q6_alone ? 1 : 2;
    for (const AffineWeight& a : aff) {
      std::vector<char> h(a.scales.size() * per * es);
      for (size_t i = 0; i < a.scales.size(); ++i)
        for (size_t j = 0; j < per; ++j) {
          const float v = j ? a.biases[i] : a.scales[i];
          char* d = h.data() + (per * i + j) * es;
          if (half) {
            const uint16_t b = f32_to_f16(v);
            std::memcpy(d, &b, 2);
          } else {
            std::memcpy(d, &v, 4);
          }
        }
      out.push_back(std::move(h));
    }
    return out;
  }
  // Each part's scales and biases ([rows, groups] of es bytes each) as (scale, bias) pairs, rows placed as the
  // codes' rows (stacked or interleaved).
  void* upload_pairs(const std::vector<const Linear*>& parts, const std::vector<std::pair<const void*, const void*>>& sb, int out,
                     size_t groups, size_t es, bool interleave) {
    std::vector<char> h(static_cast<size_t>(out) * groups * 2 * es);
    size_t at = 0;
    for (size_t k = 0; k < parts.size(); ++k) {
      const size_t rows = parts[k]->weight.dim(0);
      const char* sc = static_cast<const char*>(sb[k].first);
      const char* bi = static_cast<const char*>(sb[k].second);
      for (size_t r = 0; r < rows; ++r) {
        char* d = h.data() + (interleave ? 2 * r + k : at + r) * groups * 2 * es;
        for (size_t g = 0; g < groups; ++g) {
          std::memcpy(d + 2 * g * es, sc + (r * groups + g) * es, es);
          std::memcpy(d + (2 * g + 1) * es, bi + (r * groups + g) * es, es);
        }
      }
      at += rows;
    }
    void* d = alloc(h.size());
    upload(d, h.data(), h.size());
    return d;
  }
  // Copies rows [rows_k, row_bytes] of each part (data(part) on the host) into one device matrix.
  template <class Data>
  void* upload_rows(const std::vector<const Linear*>& parts, size_t row, bool interleave, Data data) {
    size_t out = 0;
    for (const Linear* p : parts) out += p->weight.dim(0);
    char* d = static_cast<char*>(alloc(out * row));
    size_t done = 0;
    for (size_t k = 0; k < parts.size(); ++k) {
      const size_t rows = parts[k]->weight.dim(0);
      const void* src = data(parts[k]);
      if (interleave) cuda::upload_rows(d + k * row, parts.size() * row, src, row, row, rows);
      else upload(d + done * row, src, rows * row);
      done += rows;
    }
    return d;
  }
  // The parts' biases in the rows' order (f32), or null when none has one.
  const float* upload_bias(const std::vector<const Linear*>& parts, int out, bool interleave) {
    bool any = false;
    for (const Linear* p : parts) any |= !p->bias.empty();
    if (!any) return nullptr;
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
    upload(db, b.data(), out * sizeof(float));
    return db;
  }

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
  const QuantSpec* rq = !m && a.quantization ? &*a.quantization : nullptr;  // random quantized weights
  using P = std::vector<const Linear*>;
  // Progress in the checkpoint's bytes (what is read from the mapping), counted per projection.
  const size_t total = m ? m->weight_bytes() : 0;
  size_t done = 0;
  auto report = [&](size_t bytes) {
    done += bytes;
    if (progress && total) progress(done, total);
  };

  w.embed = up.linear(lm ? P{&lm->embed_tokens} : P{}, a.vocab_size, H, dtype, false, rq, 1.0f);
  if (lm) report(lm->embed_tokens.nbytes());

  w.layers.resize(a.num_hidden_layers);
  for (int i = 0; i < a.num_hidden_layers; ++i) {
    DevLayer& d = w.layers[i];
    const TransformerBlock* b = lm ? &lm->layers[i] : nullptr;
    // TransformerBlock::linears() order: q, k, v, o, gate, up, down.
    std::array<const Linear*, 7> p{};
    if (b) {
      const std::array<NamedLinear, 7> ls = b->linears();
      std::transform(ls.begin(), ls.end(), p.begin(), [](const NamedLinear& l) { return l.linear; });
    }
    d.qkv = up.linear(b ? P{p[0], p[1], p[2]} : P{}, qd + 2 * kd, H, dtype, false, rq);
    d.o = up.linear(b ? P{p[3]} : P{}, H, qd, dtype, false, rq);
    d.gate_up = up.linear(b ? P{p[4], p[5]} : P{}, 2 * I, H, dtype, true, rq);
    d.down = up.linear(b ? P{p[6]} : P{}, H, I, dtype, false, rq);
    d.ln1 = up.f32(b ? &b->input_layernorm : nullptr, H, 1.0f);
    d.ln2 = up.f32(b ? &b->post_attention_layernorm : nullptr, H, 1.0f);
    if (b) report(b->nbytes());
  }
  w.norm = up.f32(lm ? &lm->norm : nullptr, H, 1.0f);
  if (lm) report(lm->norm.nbytes());
  const bool tied = m ? m->tied_embeddings() : a.tie_word_embeddings.value_or(true);
  if (tied) {
    w.lm_head = w.embed;
  } else {
    w.lm_head = up.linear(m ? P{&m->lm_head()} : P{}, a.vocab_size, H, dtype, false, rq);
    if (m) report(m->lm_head().nbytes());
  }
  ctx.sync();
  return w;
}

}  // namespace cpplm::cuda
