// Prompt cache files (mlx-lm's cache_prompt and --prompt-cache-file): a sequence's K/V and the
// tokens it holds, saved after a prompt ran so that later generations start from it.
#pragma once
#include <string>
#include <vector>

#include "runtime/generate.h"
#include "runtime/language_model.h"

namespace cpplm {

// Writes c (state and tokens) to `path`: safetensors with "layers.{i}.keys" and "layers.{i}.values"
// f32 [positions, kv_heads, head_dim] per layer and metadata: "format" "cpplm-prompt-cache",
// "version" "1", "tokens" (a JSON array), the model's shape ("model_type", "num_hidden_layers",
// "num_key_value_heads", "head_dim", "vocab_size") and "kv_dtype". Throws Error naming the path or
// the layer that cannot be written (a ring that dropped positions).
void save_prompt_cache(const std::string& path, const LanguageModel& model, const PromptCache& c);

// Reads `path` into a new sequence of `model` laid out by `opts` (the storage the K/V is rounded
// to). Throws Error naming the file and what does not fit the model (shape, tokens, sizes).
PromptCache load_prompt_cache(const std::string& path, LanguageModel& model, const CacheOptions& opts);

// The tokens a prompt cache file holds, once its metadata fits a model of `args` (nothing loaded).
std::vector<int32_t> prompt_cache_file_tokens(const std::string& path, const ModelArgs& args);

}  // namespace cpplm
