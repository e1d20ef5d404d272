// ModelArgs: every config.json field the Llama family uses, with defaults applied in one place.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cpplm {

// RoPE scaling parameters (mlx-lm rope_scaling / transformers-5 rope_parameters minus rope_theta).
struct RopeScaling {
  std::string type = "default";  // default|linear|dynamic|llama3|yarn|longrope|mrope...
  double factor = 1.0;
  std::optional<double> original_max_position_embeddings;
  // llama3
  double low_freq_factor = 1.0, high_freq_factor = 4.0;
  // yarn
  std::optional<double> beta_fast, beta_slow, mscale, mscale_all_dim, attention_factor;
  bool truncate = true;
  // longrope
  std::vector<double> short_factor, long_factor;
};

// mlx-lm "quantization" block: {"group_size": G, "bits": B, ["mode": "affine"]}, plus per-layer
// entries keyed by module path ("model.layers.0.mlp.down_proj": {...} or false).
struct QuantSpec {
  int group_size = 64;
  int bits = 4;
  std::string mode = "affine";
};

// mlx-lm models/llama.py ModelArgs.
struct ModelArgs {
  std::string model_type;
  int hidden_size = 0;
  int num_hidden_layers = 0;
  int intermediate_size = 0;
  int num_attention_heads = 0;
  double rms_norm_eps = 1e-6;
  int vocab_size = 0;
  int head_dim = 0;                 // default hidden_size / num_attention_heads
  int max_position_embeddings = 0;  // 0 = not given
  int num_key_value_heads = 0;      // default num_attention_heads
  bool attention_bias = false;
  bool mlp_bias = false;
  double rope_theta = 10000.0;
  bool rope_traditional = false;
  RopeScaling rope_scaling;
  // mlx-lm defaults tie_word_embeddings to true, transformers' LlamaConfig to false. When the
  // key is absent we decide from the checkpoint: tied unless it stores lm_head.weight.
  std::optional<bool> tie_word_embeddings;
  std::vector<std::string> layer_types;  // "full_attention" | "sliding_attention", one per layer
  std::optional<int> sliding_window;
  std::optional<QuantSpec> quantization;
  std::map<std::string, std::optional<QuantSpec>> quantization_overrides;  // layer path -> spec (nullopt = not quantized)
  std::vector<int> eos_token_ids;
  std::optional<int> bos_token_id;

  bool is_sliding(int layer) const { return layer_types.at(layer) == "sliding_attention"; }
};

// Parses config.json; `source` names the file in errors. Applies defaults and validates sizes.
// layer_types stays as given (maybe empty): model/registry.h resolves the family's layout.
ModelArgs parse_model_args(const nlohmann::json& j, const std::string& source);
ModelArgs load_model_args(const std::string& config_path);

}  // namespace cpplm
