// cpplm public API: load a Llama-family checkpoint with its tokenizer, apply its chat template,
// and generate text with streaming callbacks. Everything else in the repository is internal.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cpplm {

const char* version();

struct LoadOptions {
  std::string device = "auto";  // "cpu", "cuda", or "auto" (cuda when a GPU is present)
  int threads = 0;               // CPU threads; 0 = all cores
  std::string chat_template;     // optional override: a .jinja file, or a folder whose
                                 // tokenizer_config.json / chat_template.jinja holds one
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
  std::vector<std::string> stop;       // stop strings (not included in the text)
  std::optional<int> max_kv_size;      // rotating KV cache bound
  int kv_bits = 0;                     // K/V cache: 0 = the model's dtype, 8 = 8-bit codes (CPU), 16, 32 = f32
};

struct Message {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
};

struct GenerationResult {
  std::string text;              // generated text, without the EOS token or stop string
  std::vector<int32_t> tokens;   // generated ids (an EOS id that stopped generation included)
  std::string finish_reason;     // "stop" (EOS, stop string or callback) | "length"
  int prompt_tokens = 0;
  double prompt_tps = 0;
  int generation_tokens = 0;
  double generation_tps = 0;
  size_t peak_memory_bytes = 0;
};

// Perplexity of a text (Engine::perplexity).
struct PerplexityStats {
  double perplexity = 0;
  double mean_nll = 0;    // mean negative log-likelihood per scored token (nats)
  int tokens_scored = 0;
  int windows = 0;
};

// Receives text as it becomes final (never a broken UTF-8 character); return false to stop.
using TextCallback = std::function<bool(const std::string& text)>;

class Engine {
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

  // Perplexity of `text` in non-overlapping windows of `context` tokens, each starting with BOS
  // (every token after the first of a window is scored). progress(done, total) after each window.
  PerplexityStats perplexity(const std::string& text, int context,
                             const std::function<void(int done, int total)>& progress = {});

  std::string device() const;
  const std::vector<int32_t>& eos_ids() const;

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A checkpoint's tokenizer alone (tokenizer.json or tokenizer.model, with tokenizer_config.json):
// works on folders without weights.
class TextTokenizer {
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
