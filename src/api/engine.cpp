// Engine: the public API over model, tokenizer, chat template and the generation loop.
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "api/model_factory.h"
#include "core/error.h"
#include "core/file_io.h"
#include "cpplm/cpplm.h"
#include "io/gguf.h"
#include "runtime/generate.h"
#include "runtime/perplexity.h"
#include "runtime/prompt_cache_file.h"
#include "runtime/threads.h"
#include "tokenizer/jinja/chat_template.h"
#include "tokenizer/stop_matcher.h"
#include "tokenizer/tokenizer.h"

namespace cpplm {

struct Engine::Impl {
  std::unique_ptr<LanguageModel> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::string dir;
  std::string template_error;  // the checkpoint's chat template did not parse (thrown when used)
  jinja::ChatTemplate chat_template;
  std::vector<int32_t> eos;
  PromptCache chat_prompt;
  bool chat_context_warned = false;  // the conversation's context warning was given
  WarningCallback on_warning;

  const Tokenizer& tok() const;
  // Passes `message` to on_warning and keeps it in `into` (a result's warnings).
  void warn(const std::string& message, std::vector<std::string>& into) const;

  // `context_warned`: set once the context warning was given (chat gives it once per conversation).
  GenerationResult run(PromptCache& prompt_cache, const std::vector<int32_t>& prompt, const GenerationConfig& c,
                       const TextCallback& on_text, bool& context_warned);
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

std::unique_ptr<Engine> Engine::load(const std::string& dir, const LoadOptions& options) {
  set_compute_threads(options.threads);
  auto impl = std::make_unique<Impl>();
  std::function<void(size_t, size_t)> upload;
  if (options.on_progress)
    upload = [cb = options.on_progress](size_t done, size_t total) { cb("uploading weights", done, total); };
  impl->model = load_language_model(dir, options.device, upload);
  impl->dir = dir;
  impl->on_warning = options.on_warning;
  TextSide text = load_text_side(dir, options.chat_template);
  impl->tokenizer = std::move(text.tokenizer);
  impl->chat_template = std::move(text.chat_template);
  impl->template_error = std::move(text.template_error);
  impl->eos = stop_token_ids(impl->tokenizer.get(), impl->model->args());
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

bool Engine::has_chat_template() const {
  return impl_->tokenizer && (impl_->chat_template.available() || !impl_->template_error.empty());
}

const Tokenizer& Engine::Impl::tok() const {
  if (!tokenizer) throw Error("this model folder has no tokenizer (tokenizer.json or tokenizer.model)");
  return *tokenizer;
}

std::string Engine::apply_chat_template(const std::vector<Message>& messages, bool add_generation_prompt) const {
  if (!impl_->template_error.empty()) throw Error(impl_->template_error);
  if (!has_chat_template()) throw Error("this tokenizer has no chat template");
  nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
  for (const Message& m : messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
  return impl_->chat_template.render(msgs, add_generation_prompt);
}

std::vector<int32_t> Engine::encode(const std::string& text, bool add_special_tokens) const {
  return impl_->tok().encode(text, add_special_tokens);
}

std::string Engine::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  return impl_->tok().decode(ids, skip_special_tokens);
}

void Engine::Impl::warn(const std::string& message, std::vector<std::string>& into) const {
  into.push_back(message);
  if (on_warning) on_warning(message);
}

std::string Engine::device() const { return impl_->model->device(); }
const std::vector<int32_t>& Engine::eos_ids() const { return impl_->eos; }
int Engine::max_position_embeddings() const { return impl_->model->args().max_position_embeddings; }
int Engine::context_length() const { return cpplm::context_length(impl_->model->args()); }

void Engine::reset() {
  impl_->chat_prompt.reset();
  impl_->chat_context_warned = false;
}

GenerationResult Engine::Impl::run(PromptCache& prompt_cache, const std::vector<int32_t>& prompt, const GenerationConfig& c,
                                   const TextCallback& on_text, bool& context_warned) {
  GenerateOptions opts;
  opts.max_tokens = c.max_tokens;
  opts.sampling = {c.temp, c.top_p, c.top_k, c.min_p, c.repetition_penalty, c.repetition_context_size, c.seed};
  opts.eos_ids = eos;
  opts.max_kv_size = c.max_kv_size;
  opts.kv_bits = c.kv_bits;
  opts.prefill_progress = c.on_prefill_progress;
  validate(opts.sampling);
  GenerationResult r;
  if (!context_warned) {
    const std::string w = context_warning(
        model->args(),
        "prompt (" + std::to_string(prompt.size()) + " tokens) + max tokens (" + std::to_string(c.max_tokens) + ")",
        static_cast<int64_t>(prompt.size()) + c.max_tokens);
    if (!w.empty()) {
      warn(w, r.warnings);
      context_warned = true;
    }
  }

  std::optional<StreamingDetokenizer> detok;
  if (tokenizer) detok.emplace(*tokenizer, /*skip_special_tokens=*/false);
  StopMatcher stops(c.stop);
  bool stopped_by_caller = false;
  auto emit = [&](const std::string& s) {
    if (s.empty() || stopped_by_caller) return;
    r.text += s;
    if (on_text && !on_text(s)) stopped_by_caller = true;
  };
  GenerationOutput out = cpplm::generate(*model, prompt_cache, prompt, opts, [&](int32_t tok) {
    if (std::find(eos.begin(), eos.end(), tok) != eos.end()) return false;  // EOS text is not shown
    if (detok) emit(stops.push(detok->add(tok)));
    return !stops.stopped() && !stopped_by_caller;
  });
  if (!stops.stopped() && detok) {
    emit(stops.push(detok->finish()));
    emit(stops.flush());
  }
  r.tokens = out.tokens;
  r.finish_reason = finish_reason_name(out.finish);
  r.prompt_tokens = out.stats.prompt_tokens;
  r.prompt_tps = out.stats.prompt_tps();
  r.generation_tokens = out.stats.generated_tokens;
  r.generation_tps = out.stats.generation_tps();
  r.peak_memory_bytes = out.stats.peak_rss_bytes;
  return r;
}

GenerationResult Engine::generate(const std::string& prompt, const GenerationConfig& config, const TextCallback& on_text) {
  return generate_tokens(encode(prompt, /*add_special_tokens=*/true), config, on_text);
}

GenerationResult Engine::generate_tokens(const std::vector<int32_t>& prompt, const GenerationConfig& config,
                                         const TextCallback& on_text) {
  PromptCache prompt_cache;
  bool context_warned = false;
  return impl_->run(prompt_cache, prompt, config, on_text, context_warned);
}

GenerationResult Engine::chat(const std::vector<Message>& conversation, const GenerationConfig& config,
                              const TextCallback& on_text) {
  // The rendered template carries its own BOS text, so no special tokens are added again.
  const std::vector<int32_t> ids = encode(apply_chat_template(conversation, true), /*add_special_tokens=*/false);
  return impl_->run(impl_->chat_prompt, ids, config, on_text, impl_->chat_context_warned);
}

void Engine::save_prompt_cache(const std::string& path, const std::vector<int32_t>& prompt, const GenerationConfig& config) {
  GenerateOptions opts;
  opts.max_tokens = 0;  // the prompt only
  opts.max_kv_size = config.max_kv_size;
  opts.kv_bits = config.kv_bits;
  opts.prefill_progress = config.on_prefill_progress;
  PromptCache pc;
  cpplm::generate(*impl_->model, pc, prompt, opts);
  cpplm::save_prompt_cache(path, *impl_->model, pc);
}

std::vector<int32_t> Engine::prompt_cache_tokens(const std::string& path) const {
  return prompt_cache_file_tokens(path, impl_->model->args());
}

GenerationResult Engine::generate_from_prompt_cache(const std::string& path, const std::vector<int32_t>& prompt,
                                                    const GenerationConfig& config, const TextCallback& on_text) {
  PromptCache pc = load_prompt_cache(path, *impl_->model, {config.max_kv_size, config.kv_bits});
  if (prompt.size() < pc.tokens.size() || !std::equal(pc.tokens.begin(), pc.tokens.end(), prompt.begin()))
    throw Error(path + ": the prompt does not begin with the " + std::to_string(pc.tokens.size()) +
                " tokens this prompt cache holds");
  bool context_warned = false;
  return impl_->run(pc, prompt, config, on_text, context_warned);
}

PerplexityStats Engine::perplexity(const std::string& text, int context, const std::function<void(int, int)>& progress) {
  const Tokenizer& t = impl_->tok();
  const std::vector<int32_t> ids = t.encode(text, /*add_special_tokens=*/false);
  std::optional<int32_t> bos = t.bos_id();
  if (!bos && impl_->model->args().bos_token_id) bos = *impl_->model->args().bos_token_id;
  if (!bos) throw Error(impl_->dir + ": no BOS token in tokenizer_config.json or config.json");
  PerplexityStats stats;
  if (context >= 2 && !ids.empty()) {  // else perplexity() refuses them
    const int64_t longest = std::min<int64_t>(context, static_cast<int64_t>(ids.size()) + 1);
    const std::string w =
        context_warning(impl_->model->args(), "perplexity windows of " + std::to_string(longest) + " tokens", longest);
    if (!w.empty()) impl_->warn(w, stats.warnings);
  }
  const PerplexityResult r = cpplm::perplexity(*impl_->model, ids, *bos, context, progress);
  stats.perplexity = r.perplexity;
  stats.mean_nll = r.mean_nll;
  stats.tokens_scored = r.tokens_scored;
  stats.windows = r.windows;
  return stats;
}

struct TextTokenizer::Impl {
  std::unique_ptr<Tokenizer> tok;
};

TextTokenizer::TextTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TextTokenizer::~TextTokenizer() = default;

std::unique_ptr<TextTokenizer> TextTokenizer::load(const std::string& dir) {
  auto impl = std::make_unique<Impl>();
  if (is_gguf_file(dir)) {  // a GGUF file's tokenizer.ggml.* metadata
    impl->tok = load_text_side(dir, "").tokenizer;
    if (!impl->tok) throw Error(dir + ": this GGUF file has no tokenizer (no tokenizer.ggml.model)");
  } else {
    impl->tok = Tokenizer::load(dir);
  }
  return std::unique_ptr<TextTokenizer>(new TextTokenizer(std::move(impl)));
}

std::vector<int32_t> TextTokenizer::encode(const std::string& text, bool add_special_tokens) const {
  return impl_->tok->encode(text, add_special_tokens);
}

std::string TextTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  return impl_->tok->decode(ids, skip_special_tokens);
}

std::string TextTokenizer::piece(int32_t id) const { return impl_->tok->id_to_piece(id); }
int TextTokenizer::vocab_size() const { return impl_->tok->vocab_size(); }

}  // namespace cpplm
