// initialize_rope (mlx-lm rope_utils.py): the RoPE variants as inverse frequencies + an attention factor.
#pragma once
#include <vector>

#include "io/config.h"

namespace cpplm {

// One RoPE configuration. Frequencies may depend on the sequence length (dynamic NTK,
// longrope), so they are asked for per sequence with that sequence's length so far.
class Rope {
 public:
  // Throws Error (naming `source`) for unknown rope types or missing parameters.
  Rope(const ModelArgs& args, const std::string& source);

  int dims() const { return dims_; }
  bool traditional() const { return traditional_; }
  // Factor multiplied into cos and sin (yarn mscale, longrope scaling); 1 otherwise.
  float attention_factor() const { return attention_factor_; }

  // cos/sin tables for `n` tokens at `positions` of a sequence whose length (max position
  // + 1) is `seq_len`: cos, sin are [n, dims/2] f32, already scaled by attention_factor.
  void tables(const int* positions, int n, int seq_len, float* cos, float* sin) const;

 private:
  std::vector<float> inv_freq_for(int seq_len) const;
  std::string type_;
  int dims_;
  bool traditional_;
  double base_;
  double factor_ = 1.0;
  int max_pos_ = 0;
  int original_max_pos_ = 0;
  float attention_factor_ = 1.0f;
  std::vector<float> inv_freq_;                    // default / linear / llama3 / yarn / longrope short
  std::vector<float> long_inv_freq_;               // longrope long factors
};

}  // namespace cpplm
