// Random checkpoint tensors, generated in parallel with a counter-based hash (SplitMix64).
#include "model/random_weights.h"

#include <cmath>
#include <vector>

#include "core/error.h"
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
          constant ? amp
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

}  // namespace

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
