// cpplm public API: load a Llama-family checkpoint with its tokenizer, apply its chat template,
// and generate text with streaming callbacks. Everything else in the repository is internal.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// Symbols of the public API; everything else stays inside the shared library.
#if defined(__GNUC__)
#define CPPLM_API __attribute__((visibility("default")))
#else
#define CPPLM_API
#endif

namespace cpplm {

// The library's version ("0.1.0").
CPPLM_API const char* version();

// Receives a warning: one line, no trailing newline (e.g. a prompt longer than the context the
// model was trained for). Called before the work it concerns starts.
using WarningCallback = std::function<void(const std::string& message)>;

struct LoadOptions {
  std::string device = "auto";  // "cpu", "cuda", or "auto" (cuda when a GPU is present)
  int threads = 0;              // CPU threads; 0 = all cores
  std::string chat_template;    // optional override: a .jinja file, or a folder whose
                                // tokenizer_config.json / chat_template.jinja holds one
  WarningCallback on_warning;   // the engine's warnings as they arise (none: only in the results'
                                // `warnings`); nothing is printed by the library itself
  // Progress of loading: (what, done, total) in bytes while weights are copied to the GPU. CPU
  // weights are memory-mapped, not read, so a CPU load reports nothing.
  std::function<void(const std::string& what, size_t done, size_t total)> on_progress;
};

// Sampling and stopping. Sampling order: repetition penalty, log-softmax, top-k, top-p, min-p,
// then temperature (mlx-lm's order; see docs/GENERATION.md).
struct GenerationConfig {
  int max_tokens = 256;
  float temp = 0.0f;  // 0 = greedy
  float top_p = 1.0f;
  int top_k = 0;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  int repetition_context_size = 20;
  uint64_t seed = 0;
  std::vector<std::string> stop;   // stop strings (not included in the text)
  std::optional<int> max_kv_size;  // rotating KV cache bound
  int kv_bits = 0;                 // K/V cache: 0 = the model's dtype, 8 = 8-bit codes (CPU), 16, 32 = f32
  // Called after each chunk (512 tokens) of a prompt longer than one chunk: (tokens done, total).
  std::function<void(int done, int total)> on_prefill_progress;
};

struct Message {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
};

struct GenerationResult {
  std::string text;             // generated text, without the EOS token or stop string
  std::vector<int32_t> tokens;  // generated ids (an EOS id that stopped generation included)
  std::string finish_reason;    // "stop" (EOS, stop string or callback) | "length"
  int prompt_tokens = 0;
  double prompt_tps = 0;
  int generation_tokens = 0;
  double generation_tps = 0;
  size_t peak_memory_bytes = 0;
  std::vector<std::string> warnings;  // what was passed to LoadOptions::on_warning for this call
};

// Perplexity of a text (Engine::perplexity).
struct PerplexityStats {
  double perplexity = 0;
  double mean_nll = 0;  // mean negative log-likelihood per scored token (nats)
  int tokens_scored = 0;
  int windows = 0;
  std::vector<std::string> warnings;  // what was passed to LoadOptions::on_warning for this call
};

// Receives text as it becomes final (never a broken UTF-8 character); return false to stop.
using TextCallback = std::function<bool(const std::string& text)>;

class CPPLM_API Engine {
 public:
  // Loads config.json, the safetensors weights and the tokenizer of `model_dir`.
  // Throws std::runtime_error with a message naming the file and field at fault.
  static std::unique_ptr<Engine> load(const std::string& model_dir, const LoadOptions& options = {});
  ~Engine();

  bool has_chat_template() const;
  // Renders `messages` with the checkpoint's chat template.
  std::string apply_chat_template(const std::vector<Message>& messages, bool add_generation_prompt = true) const;
  std::vector<int32_t> encode(const std::string& text, bool add_special_tokens) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;

  // Generation (generate, generate_tokens, chat) warns when the prompt plus max_tokens exceed
  // context_length(); chat warns once per conversation (until reset()). It throws
  // std::runtime_error naming the step when the model's logits hold a NaN or an infinity (a
  // GPU's greedy decode keeps its logits on the device: there only the first step is checked;
  // sampled GPU steps are checked).
  // Generates from raw text (the tokenizer adds its special tokens, e.g. BOS).
  GenerationResult generate(const std::string& prompt, const GenerationConfig& config, const TextCallback& on_text = {});
  // Generates from token ids.
  GenerationResult generate_tokens(const std::vector<int32_t>& prompt, const GenerationConfig& config,
                                   const TextCallback& on_text = {});
  // Continues a conversation: renders it with the chat template and reuses the KV cache for
  // the part already processed in the previous call.
  GenerationResult chat(const std::vector<Message>& conversation, const GenerationConfig& config,
                        const TextCallback& on_text = {});
  // Forgets the cached conversation.
  void reset();

  // Prompt cache files (mlx-lm's cache_prompt and --prompt-cache-file). save_prompt_cache runs
  // `prompt` through the model (config: max_kv_size, kv_bits, on_prefill_progress; nothing is
  // generated) and writes its K/V and tokens to `path` (safetensors). Throws std::runtime_error
  // naming the file (unwritable, or a ring that dropped positions: a cache bounded below the prompt).
  void save_prompt_cache(const std::string& path, const std::vector<int32_t>& prompt, const GenerationConfig& config);
  // The tokens a prompt cache file holds, once it was checked against this model (its shape).
  std::vector<int32_t> prompt_cache_tokens(const std::string& path) const;
  // generate_tokens() starting from the K/V of a prompt cache file: `prompt` begins with the file's
  // tokens (prompt_cache_tokens) and goes on with new ones; only those run before generation.
  GenerationResult generate_from_prompt_cache(const std::string& path, const std::vector<int32_t>& prompt,
                                              const GenerationConfig& config, const TextCallback& on_text = {});

  // Perplexity of `text` in non-overlapping windows of `context` tokens, each starting with BOS
  // (every token after the first of a window is scored). progress(done, total) after each window.
  // Windows longer than context_length() are run, with a warning; NaN or infinite logits throw.
  PerplexityStats perplexity(const std::string& text, int context, const std::function<void(int done, int total)>& progress = {});

  // config.json's max_position_embeddings: the context the model was trained for (0 = not given).
  int max_position_embeddings() const;
  // The positions the model is set up for: max_position_embeddings, stretched by a "linear" or
  // "yarn" rope_scaling factor; 0 = no known limit (not given, or "dynamic" NTK RoPE, which
  // stretches itself). Past it quality degrades; the engine warns (LoadOptions::on_warning).
  int context_length() const;

  std::string device() const;
  const std::vector<int32_t>& eos_ids() const;

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A checkpoint's tokenizer alone (tokenizer.json or tokenizer.model, with tokenizer_config.json):
// works on folders without weights.
class CPPLM_API TextTokenizer {
 public:
  // Throws std::runtime_error naming the folder or file at fault.
  static std::unique_ptr<TextTokenizer> load(const std::string& dir);
  ~TextTokenizer();

  std::vector<int32_t> encode(const std::string& text, bool add_special_tokens) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;
  // The vocabulary entry of `id` as stored (e.g. "Ġworld", "<|eot_id|>"); "" when id is not in
  // the vocabulary.
  std::string piece(int32_t id) const;
  int vocab_size() const;

  struct Impl;

 private:
  explicit TextTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cpplm
