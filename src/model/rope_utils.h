// initialize_rope (mlx-lm rope_utils.py): the RoPE variants as inverse frequencies and a factor on cos/sin.
#pragma once
#include <string>
#include <vector>

#include "io/config.h"

namespace cpplm {

// rope_scaling's rope_type ("type" in older configs).
enum class RopeType { Default, Linear, Dynamic, Llama3, Yarn, Longrope };
// Throws Error naming `source` for an unknown name.
RopeType parse_rope_type(const std::string& name, const std::string& source);

// One RoPE configuration. Frequencies may depend on the sequence length (dynamic NTK,
// longrope), so they are asked for per sequence with that sequence's length so far.
class Rope {
 public:
  // Throws Error (naming `source`) for unknown rope types or missing parameters.
  Rope(const ModelArgs& args, const std::string& source);

  int dims() const { return dims_; }
  bool traditional() const { return traditional_; }

  // cos/sin tables for `n` tokens at `positions` of a sequence whose length (max position
  // + 1) is `seq_len`: cos, sin are [n, dims/2] f32, scaled by the variant's attention factor
  // (yarn mscale, longrope), 1 for the others.
  void tables(const int* positions, int n, int seq_len, float* cos, float* sin) const;

 private:
  const std::vector<float>& inv_freq_for(int seq_len, std::vector<float>& scratch) const;
  RopeType type_;
  int dims_;
  bool traditional_;
  double base_;
  double factor_;
  int max_pos_;
  int original_max_pos_;
  float attention_factor_ = 1.0f;
  std::vector<float> inv_freq_;       // [dims/2]; longrope: the short factors
  std::vector<float> long_inv_freq_;  // [dims/2] longrope's long factors
};

}  // namespace cpplm
