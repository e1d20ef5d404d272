// RoPE inverse frequencies, ported from transformers' modeling_rope_utils.py (the oracle) and
// mlx-lm rope_utils.py. Frequencies are rounded to f32 and angles formed in f32, as transformers does.
#include "model/rope_utils.h"

#include <cmath>

#include "core/error.h"

namespace cpplm {
namespace {

// base^(-2i/dim) for i in [0, dim/2), rounded to f32.
std::vector<float> default_inv_freq(double base, int dim) {
  std::vector<float> f(dim / 2);
  for (int i = 0; i < dim / 2; ++i) {
    float expo = static_cast<float>(2 * i) / static_cast<float>(dim);
    f[i] = static_cast<float>(1.0 / std::pow(base, static_cast<double>(expo)));
  }
  return f;
}

double yarn_get_mscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

}  // namespace

Rope::Rope(const ModelArgs& a, const std::string& source)
    : type_(a.rope_scaling.type), dims_(a.head_dim), traditional_(a.rope_traditional), base_(a.rope_theta) {
  const RopeScaling& s = a.rope_scaling;
  auto err = [&](const std::string& why) {
    return Error(source + ": rope_scaling (rope_type \"" + type_ + "\"): " + why);
  };
  factor_ = s.factor;
  max_pos_ = a.max_position_embeddings;
  original_max_pos_ = static_cast<int>(s.original_max_position_embeddings.value_or(max_pos_));
  inv_freq_ = default_inv_freq(base_, dims_);
  if (type_ == "default") return;
  if (type_ == "linear") {  // HF _compute_linear_scaling_rope_parameters
    for (float& f : inv_freq_) f = static_cast<float>(f / factor_);
  } else if (type_ == "dynamic") {  // HF _compute_dynamic_ntk_parameters (per sequence length)
    if (max_pos_ <= 0) throw err("dynamic NTK needs max_position_embeddings");
  } else if (type_ == "llama3") {  // HF _compute_llama3_parameters
    const double old_ctx = s.original_max_position_embeddings.value_or(8192);
    const double low_wavelen = old_ctx / s.low_freq_factor, high_wavelen = old_ctx / s.high_freq_factor;
    for (float& f : inv_freq_) {
      const double wavelen = 2 * M_PI / f;
      if (wavelen > low_wavelen) {
        f = static_cast<float>(f / factor_);
      } else if (wavelen >= high_wavelen) {
        double smooth = (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        f = static_cast<float>((1 - smooth) * f / factor_ + smooth * f);
      }
    }
  } else if (type_ == "yarn") {  // HF _compute_yarn_parameters
    // mlx-lm and HF both use the configured factor here.
    double af;
    if (s.attention_factor) af = *s.attention_factor;
    else if (s.mscale && s.mscale_all_dim) af = yarn_get_mscale(factor_, *s.mscale) / yarn_get_mscale(factor_, *s.mscale_all_dim);
    else af = yarn_get_mscale(factor_, 1.0);
    attention_factor_ = static_cast<float>(af);
    const double beta_fast = s.beta_fast.value_or(32), beta_slow = s.beta_slow.value_or(1);
    auto correction_dim = [&](double rot) {
      return dims_ * std::log(original_max_pos_ / (rot * 2 * M_PI)) / (2 * std::log(base_));
    };
    double low = correction_dim(beta_fast), high = correction_dim(beta_slow);
    if (s.truncate) {
      low = std::floor(low);
      high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, static_cast<double>(dims_ - 1));
    if (low == high) high += 0.001;
    for (int i = 0; i < dims_ / 2; ++i) {
      const float pos_freq = static_cast<float>(std::pow(base_, static_cast<double>(static_cast<float>(2 * i) / dims_)));
      const float extra = 1.0f / pos_freq, inter = static_cast<float>(1.0 / (factor_ * pos_freq));
      float ramp = static_cast<float>((i - low) / (high - low));
      ramp = std::fmin(std::fmax(ramp, 0.0f), 1.0f);
      const float extra_factor = 1.0f - ramp;
      inv_freq_[i] = inter * (1 - extra_factor) + extra * extra_factor;
    }
  } else if (type_ == "longrope") {  // HF _compute_longrope_parameters
    if (!s.original_max_position_embeddings) throw err("longrope needs original_max_position_embeddings");
    if (static_cast<int>(s.short_factor.size()) != dims_ / 2 || static_cast<int>(s.long_factor.size()) != dims_ / 2)
      throw err("short_factor and long_factor need head_dim/2 = " + std::to_string(dims_ / 2) + " entries");
    // HF derives the attention factor from max_position_embeddings / original (Phi-3 convention).
    double f = max_pos_ > 0 ? static_cast<double>(max_pos_) / original_max_pos_ : factor_;
    attention_factor_ = static_cast<float>(
        s.attention_factor.value_or(f <= 1.0 ? 1.0 : std::sqrt(1 + std::log(f) / std::log(original_max_pos_))));
    long_inv_freq_.resize(dims_ / 2);
    for (int i = 0; i < dims_ / 2; ++i) {
      const float p = static_cast<float>(std::pow(base_, static_cast<double>(static_cast<float>(2 * i) / dims_)));
      inv_freq_[i] = 1.0f / static_cast<float>(s.short_factor[i] * p);
      long_inv_freq_[i] = 1.0f / static_cast<float>(s.long_factor[i] * p);
    }
  } else {
    throw err("unknown rope type (supported: default, linear, dynamic, llama3, yarn, longrope)");
  }
}

std::vector<float> Rope::inv_freq_for(int seq_len) const {
  if (type_ == "dynamic" && seq_len > max_pos_) {
    // Base grows with the sequence length: keys keep the rotation they were cached with.
    double base = base_ * std::pow(factor_ * seq_len / max_pos_ - (factor_ - 1), dims_ / (dims_ - 2.0));
    return default_inv_freq(base, dims_);
  }
  // transformers picks long factors when the sequence exceeds the original context;
  // mlx-lm's SuScaledRoPE always uses the long factors (we follow transformers).
  if (type_ == "longrope" && seq_len > original_max_pos_) return long_inv_freq_;
  return inv_freq_;
}

void Rope::tables(const int* positions, int n, int seq_len, float* cos, float* sin) const {
  const std::vector<float> f = inv_freq_for(seq_len);
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
