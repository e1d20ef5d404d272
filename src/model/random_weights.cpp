// Random checkpoint tensors, generated in parallel with a counter-based hash (SplitMix64).
#include "model/random_weights.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/ggml_types.h"
#include "core/thread_pool.h"

namespace cpplm {
namespace {

inline uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Fills n elements of type t with uniform values in [-amp, amp] (or `amp` exactly when constant).
Tensor fill(DType t, Shape shape, float amp, uint64_t seed, bool constant = false) {
  const int64_t n = num_elements(shape);
  Tensor out{Buffer(static_cast<size_t>(n) * dtype_size(t)), t, std::move(shape)};
  parallel_for(n, chunk_for(n, 4, 4096), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float u =
          constant
              ? amp
              : amp * (static_cast<float>(mix(seed ^ static_cast<uint64_t>(i) * 0x2545f491ull) >> 40) * (2.0f / 16777216.0f) -
                       1.0f);
      if (t == DType::F32) out.buf.as<float>()[i] = u;
      else if (t == DType::BF16) out.buf.as<uint16_t>()[i] = f32_to_bf16(u);
      else if (t == DType::F16) out.buf.as<uint16_t>()[i] = f32_to_f16(u);
      else out.buf.as<uint32_t>()[i] = static_cast<uint32_t>(mix(seed + static_cast<uint64_t>(i)));
    }
  });
  return out;
}

// Block types with a CPU kernel, the byte offsets of their f16 scales (d, then dmin or m), and the largest
// |code · sub-scale| a weight reaches, so that d = amp / that keeps |w| <= amp.
struct BlockKind {
  GgmlType type;
  std::vector<int> f16_at;
  float span;
};
const std::vector<BlockKind>& block_kinds() {
  static const std::vector<BlockKind> k = {
      {GgmlType::Q4_0, {0}, 8},       {GgmlType::Q4_1, {0, 2}, 15},  {GgmlType::Q5_0, {0}, 16},
      {GgmlType::Q5_1, {0, 2}, 31},   {GgmlType::Q8_0, {0}, 127},    {GgmlType::IQ4_NL, {0}, 127},
      {GgmlType::Q2_K, {80, 82}, 45}, {GgmlType::Q3_K, {108}, 124},  {GgmlType::Q4_K, {0, 2}, 945},
      {GgmlType::Q5_K, {0, 2}, 1953}, {GgmlType::Q6_K, {208}, 4064}, {GgmlType::IQ4_XS, {0}, 3937},
  };
  return k;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::vector<std::string> random_ggml_types() {
  std::vector<std::string> v;
  for (const BlockKind& b : block_kinds()) v.push_back(lower(ggml_type_name(b.type)));
  v.push_back("q4_k_m");
  v.push_back("q5_k_m");
  return v;
}

RandomGgml random_ggml_weights(const ModelArgs& a, const std::string& type, uint64_t seed) {
  const std::string t = lower(type);
  const bool mixed = t == "q4_k_m" || t == "q5_k_m";
  const std::string base = mixed ? t.substr(0, 4) : t;
  auto kind_of = [](const std::string& name) -> const BlockKind* {
    for (const BlockKind& b : block_kinds())
      if (lower(ggml_type_name(b.type)) == name) return &b;
    return nullptr;
  };
  const BlockKind* main_kind = kind_of(base);
  if (!main_kind) {
    std::string names;
    for (const std::string& n : random_ggml_types()) names += (names.empty() ? "" : ", ") + n;
    throw Error("unknown GGUF type '" + type + "' (" + names + ")");
  }
  const BlockKind* q6 = kind_of("q6_k");
  RandomGgml out;
  uint64_t s = seed;
  auto linear = [&](const std::string& prefix, int64_t rows, int64_t in, const BlockKind& k) {
    const GgmlTypeInfo* info = ggml_type_info(static_cast<uint32_t>(k.type));
    CPPLM_CHECK(in % info->block_size == 0, "random_ggml_weights: rows do not fit the block size");
    const int64_t row_bytes = in / info->block_size * info->block_bytes;
    const int64_t nbytes = rows * row_bytes, seed_w = static_cast<int64_t>(++s);
    Tensor w{Buffer(static_cast<size_t>(nbytes)), DType::U8, {rows, row_bytes}};
    auto* bytes = w.buf.as<uint8_t>();
    parallel_for((nbytes + 7) / 8, chunk_for((nbytes + 7) / 8, 4, 4096), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const uint64_t r = mix(static_cast<uint64_t>(seed_w) + static_cast<uint64_t>(i));
        std::memcpy(bytes + 8 * i, &r, static_cast<size_t>(std::min<int64_t>(8, nbytes - 8 * i)));
      }
    });
    const float amp = 1.0f / std::sqrt(static_cast<float>(in));
    const uint16_t d = f32_to_f16(amp / k.span);
    const int64_t blocks = rows * (in / info->block_size);
    parallel_for(blocks, chunk_for(blocks, 4, 4096), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b)
        for (int off : k.f16_at) std::memcpy(bytes + b * info->block_bytes + off, &d, 2);
    });
    out.tensors[prefix + ".weight"] = std::move(w);
    out.ggml[prefix + ".weight"] = GgmlWeight{static_cast<int>(k.type), in, prefix + ".weight"};
  };
  // llama-quantize's use_more_bits: the first and last eighth of the layers and every third one between.
  const int n = a.num_hidden_layers;
  auto more_bits = [&](int i) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; };
  const int64_t H = a.hidden_size, I = a.intermediate_size, D = a.head_dim;
  linear("model.embed_tokens", a.vocab_size, H, mixed ? *q6 : *main_kind);
  for (int i = 0; i < n; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const BlockKind& more = mixed && more_bits(i) ? *q6 : *main_kind;
    linear(p + "self_attn.q_proj", a.num_attention_heads * D, H, *main_kind);
    linear(p + "self_attn.k_proj", a.num_key_value_heads * D, H, *main_kind);
    linear(p + "self_attn.v_proj", a.num_key_value_heads * D, H, more);
    linear(p + "self_attn.o_proj", H, a.num_attention_heads * D, *main_kind);
    linear(p + "mlp.gate_proj", I, H, *main_kind);
    linear(p + "mlp.up_proj", I, H, *main_kind);
    linear(p + "mlp.down_proj", H, I, more);
    out.tensors[p + "input_layernorm.weight"] = fill(DType::F32, {H}, 1.0f, 0, /*constant=*/true);
    out.tensors[p + "post_attention_layernorm.weight"] = fill(DType::F32, {H}, 1.0f, 0, /*constant=*/true);
  }
  out.tensors["model.norm.weight"] = fill(DType::F32, {H}, 1.0f, 0, /*constant=*/true);
  if (!a.tie_word_embeddings.value_or(true)) linear("lm_head", a.vocab_size, H, mixed ? *q6 : *main_kind);
  return out;
}

std::map<std::string, Tensor> random_weights(const ModelArgs& a, DType dtype, int bits, int group, uint64_t seed) {
  std::map<std::string, Tensor> w;
  uint64_t s = seed;
  auto linear = [&](const std::string& prefix, int64_t out, int64_t in) {
    const float amp = 1.0f / std::sqrt(static_cast<float>(in));
    if (bits == 0) {
      w[prefix + ".weight"] = fill(dtype, {out, in}, amp, ++s);
      return;
    }
    CPPLM_CHECK(in % group == 0 && (in * bits) % 32 == 0, "random_weights: shape does not fit the quantization");
    const float n_bins = static_cast<float>((1 << bits) - 1);
    w[prefix + ".weight"] = fill(DType::U32, {out, in * bits / 32}, 0, ++s);
    w[prefix + ".scales"] = fill(dtype, {out, in / group}, 2 * amp / n_bins, ++s, /*constant=*/true);
    w[prefix + ".biases"] = fill(dtype, {out, in / group}, -amp, ++s, /*constant=*/true);
  };
  const int64_t H = a.hidden_size, I = a.intermediate_size, D = a.head_dim;
  linear("model.embed_tokens", a.vocab_size, H);
  for (int i = 0; i < a.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    linear(p + "self_attn.q_proj", a.num_attention_heads * D, H);
    linear(p + "self_attn.k_proj", a.num_key_value_heads * D, H);
    linear(p + "self_attn.v_proj", a.num_key_value_heads * D, H);
    linear(p + "self_attn.o_proj", H, a.num_attention_heads * D);
    linear(p + "mlp.gate_proj", I, H);
    linear(p + "mlp.up_proj", I, H);
    linear(p + "mlp.down_proj", H, I);
    w[p + "input_layernorm.weight"] = fill(dtype, {H}, 1.0f, 0, /*constant=*/true);
    w[p + "post_attention_layernorm.weight"] = fill(dtype, {H}, 1.0f, 0, /*constant=*/true);
  }
  w["model.norm.weight"] = fill(dtype, {H}, 1.0f, 0, /*constant=*/true);
  if (!a.tie_word_embeddings.value_or(true)) linear("lm_head", a.vocab_size, H);
  return w;
}

}  // namespace cpplm
