// RoPE inverse frequencies, one function per variant, ported from transformers'
// modeling_rope_utils.py (the oracle) and mlx-lm rope_utils.py. Frequencies are rounded to f32
// and angles formed in f32, as transformers does.
#include "model/rope_utils.h"

#include <cmath>

#include "core/error.h"

namespace cpplm {
namespace {

// base^(-2i/dim) for i in [0, dim/2), rounded to f32 (HF _compute_default_rope_parameters).
std::vector<float> default_inv_freq(double base, int dim) {
  std::vector<float> f(dim / 2);
  for (int i = 0; i < dim / 2; ++i) {
    float expo = static_cast<float>(2 * i) / static_cast<float>(dim);
    f[i] = static_cast<float>(1.0 / std::pow(base, static_cast<double>(expo)));
  }
  return f;
}

// HF _compute_linear_scaling_rope_parameters.
void linear_inv_freq(std::vector<float>& f, double factor) {
  for (float& x : f) x = static_cast<float>(x / factor);
}

// HF _compute_llama3_parameters: low frequencies divided by the factor, high ones kept, a smooth
// blend between.
void llama3_inv_freq(std::vector<float>& f, const RopeScaling& s) {
  const double old_ctx = s.original_max_position_embeddings.value_or(8192);
  const double low_wavelen = old_ctx / s.low_freq_factor, high_wavelen = old_ctx / s.high_freq_factor;
  for (float& x : f) {
    const double wavelen = 2 * M_PI / x;
    if (wavelen > low_wavelen) {
      x = static_cast<float>(x / s.factor);
    } else if (wavelen >= high_wavelen) {
      const double smooth = (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      x = static_cast<float>((1 - smooth) * x / s.factor + smooth * x);
    }
  }
}

double yarn_get_mscale(double scale, double mscale) { return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0; }

// HF _compute_yarn_parameters: interpolated and extrapolated frequencies blended by a ramp over
// the dimensions; returns the attention factor. (mlx-lm and HF both use the configured factor.)
float yarn_inv_freq(std::vector<float>& f, const RopeScaling& s, double base, int dims, int original_max_pos) {
  double af;
  if (s.attention_factor) af = *s.attention_factor;
  else if (s.mscale && s.mscale_all_dim) af = yarn_get_mscale(s.factor, *s.mscale) / yarn_get_mscale(s.factor, *s.mscale_all_dim);
  else af = yarn_get_mscale(s.factor, 1.0);
  const double beta_fast = s.beta_fast.value_or(32), beta_slow = s.beta_slow.value_or(1);
  auto correction_dim = [&](double rot) { return dims * std::log(original_max_pos / (rot * 2 * M_PI)) / (2 * std::log(base)); };
  double low = correction_dim(beta_fast), high = correction_dim(beta_slow);
  if (s.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dims - 1));
  if (low == high) high += 0.001;
  for (int i = 0; i < dims / 2; ++i) {
    const float pos_freq = static_cast<float>(std::pow(base, static_cast<double>(static_cast<float>(2 * i) / dims)));
    const float extra = 1.0f / pos_freq, inter = static_cast<float>(1.0 / (s.factor * pos_freq));
    float ramp = static_cast<float>((i - low) / (high - low));
    ramp = std::fmin(std::fmax(ramp, 0.0f), 1.0f);
    const float extra_factor = 1.0f - ramp;
    f[i] = inter * (1 - extra_factor) + extra * extra_factor;
  }
  return static_cast<float>(af);
}

// HF _compute_longrope_parameters: per-dimension short and long factors; returns the attention
// factor, derived from max_position_embeddings / original (Phi-3 convention) unless given.
float longrope_inv_freq(std::vector<float>& short_f, std::vector<float>& long_f, const RopeScaling& s, double base, int dims,
                        int max_pos, int original_max_pos) {
  const double f = max_pos > 0 ? static_cast<double>(max_pos) / original_max_pos : s.factor;
  const double af = s.attention_factor.value_or(f <= 1.0 ? 1.0 : std::sqrt(1 + std::log(f) / std::log(original_max_pos)));
  long_f.resize(dims / 2);
  for (int i = 0; i < dims / 2; ++i) {
    const float p = static_cast<float>(std::pow(base, static_cast<double>(static_cast<float>(2 * i) / dims)));
    short_f[i] = 1.0f / static_cast<float>(s.short_factor[i] * p);
    long_f[i] = 1.0f / static_cast<float>(s.long_factor[i] * p);
  }
  return static_cast<float>(af);
}

}  // namespace

RopeType parse_rope_type(const std::string& name, const std::string& source) {
  if (name == "default") return RopeType::Default;
  if (name == "linear") return RopeType::Linear;
  if (name == "dynamic") return RopeType::Dynamic;
  if (name == "llama3") return RopeType::Llama3;
  if (name == "yarn") return RopeType::Yarn;
  if (name == "longrope") return RopeType::Longrope;
  throw Error(source + ": rope_scaling (rope_type \"" + name +
              "\"): unknown rope type (supported: default, linear, dynamic, llama3, yarn, longrope)");
}

Rope::Rope(const ModelArgs& a, const std::string& source)
    : type_(parse_rope_type(a.rope_scaling.type, source)),
      dims_(a.head_dim),
      traditional_(a.rope_traditional),
      base_(a.rope_theta),
      factor_(a.rope_scaling.factor),
      max_pos_(a.max_position_embeddings),
      original_max_pos_(static_cast<int>(a.rope_scaling.original_max_position_embeddings.value_or(a.max_position_embeddings))),
      inv_freq_(default_inv_freq(base_, dims_)) {
  const RopeScaling& s = a.rope_scaling;
  auto err = [&](const std::string& why) { return Error(source + ": rope_scaling (rope_type \"" + s.type + "\"): " + why); };
  switch (type_) {
    case RopeType::Default: break;
    case RopeType::Linear: linear_inv_freq(inv_freq_, factor_); break;
    case RopeType::Dynamic:  // frequencies per sequence length (inv_freq_for)
      if (max_pos_ <= 0) throw err("dynamic NTK needs max_position_embeddings");
      break;
    case RopeType::Llama3: llama3_inv_freq(inv_freq_, s); break;
    case RopeType::Yarn: attention_factor_ = yarn_inv_freq(inv_freq_, s, base_, dims_, original_max_pos_); break;
    case RopeType::Longrope:
      if (!s.original_max_position_embeddings) throw err("longrope needs original_max_position_embeddings");
      if (static_cast<int>(s.short_factor.size()) != dims_ / 2 || static_cast<int>(s.long_factor.size()) != dims_ / 2)
        throw err("short_factor and long_factor need head_dim/2 = " + std::to_string(dims_ / 2) + " entries");
      attention_factor_ = longrope_inv_freq(inv_freq_, long_inv_freq_, s, base_, dims_, max_pos_, original_max_pos_);
      break;
  }
}

const std::vector<float>& Rope::inv_freq_for(int seq_len, std::vector<float>& scratch) const {
  if (type_ == RopeType::Dynamic && seq_len > max_pos_) {
    // HF _compute_dynamic_ntk_parameters: the base grows with the sequence length; keys keep the
    // rotation they were cached with.
    const double base = base_ * std::pow(factor_ * seq_len / max_pos_ - (factor_ - 1), dims_ / (dims_ - 2.0));
    scratch = default_inv_freq(base, dims_);
    return scratch;
  }
  // transformers picks long factors when the sequence exceeds the original context;
  // mlx-lm's SuScaledRoPE always uses the long factors (we follow transformers).
  if (type_ == RopeType::Longrope && seq_len > original_max_pos_) return long_inv_freq_;
  return inv_freq_;
}

void Rope::tables(const int* positions, int n, int seq_len, float* cos, float* sin) const {
  std::vector<float> scratch;
  const std::vector<float>& f = inv_freq_for(seq_len, scratch);
  const int half = dims_ / 2;
  for (int t = 0; t < n; ++t) {
    const float p = static_cast<float>(positions[t]);
    for (int i = 0; i < half; ++i) {
      const float angle = p * f[i];  // f32 product, as transformers forms it
      cos[t * half + i] = static_cast<float>(std::cos(static_cast<double>(angle))) * attention_factor_;
      sin[t * half + i] = static_cast<float>(std::sin(static_cast<double>(angle))) * attention_factor_;
    }
  }
}

}  // namespace cpplm
