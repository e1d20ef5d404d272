// Internal state of cpplm::Tokenizer: the pipeline stages and the special-token settings.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/components.h"
#include "tokenizer/tokenizer.h"

namespace cpplm {

struct Tokenizer::Impl {
  std::string source;  // file the pipeline came from, for messages
  std::unique_ptr<tok::Normalizer> normalizer;
  std::unique_ptr<tok::PreTokenizer> pre_tokenizer;
  std::unique_ptr<tok::Bpe> model;
  std::unique_ptr<tok::PostProcessor> post_processor;
  std::unique_ptr<tok::Decoder> decoder;
  tok::AddedVocabulary added;

  std::optional<int32_t> bos_id;
  std::vector<int32_t> eos_ids;
  std::string bos_token, eos_token;
  bool clean_up = false;
  bool sp_dummy_prefix = true;  // tokenizer.model: normalizer_spec.add_dummy_prefix

  // Appends the ids of text (valid UTF-8) without post-processing.
  void encode_text(std::string_view text, std::vector<int32_t>& ids) const;
  // HF decode without clean-up.
  std::string decode_raw(std::span<const int32_t> ids, bool skip_special_tokens) const;
  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::string id_to_token(int32_t id) const;
};

namespace tok {

// tokenizer.json → pipeline (no special-token configuration yet).
std::unique_ptr<Tokenizer::Impl> load_tokenizer_json(const std::string& path);
// tokenizer.model (SentencePiece BPE) → the pipeline transformers' LlamaConverter builds, or
// (native) the one that reproduces SentencePiece's own encoding.
std::unique_ptr<Tokenizer::Impl> load_sentencepiece(const std::string& path, bool native);
// SentencePiece BPE merges from the pieces and their scores (views into `pieces`).
std::vector<std::pair<std::string_view, std::string_view>> generate_merges(const std::vector<std::string_view>& pieces,
                                                                           const std::vector<float>& scores, bool by_score);
// The merges derived from a tokenizer.model (exposed for tests).
std::vector<std::pair<std::string, std::string>> sentencepiece_merges(const std::string& path, bool by_score);
// Applies tokenizer_config.json (may be null), config.json and generation_config.json of dir.
// from_sentencepiece: 0 tokenizer.json, 1 tokenizer.model, 2 tokenizer.model in native mode.
void apply_special_tokens(Tokenizer::Impl& impl, const std::string& dir, const nlohmann::json& tokenizer_config,
                          int from_sentencepiece);

// transformers PreTrainedTokenizerBase.clean_up_tokenization.
std::string clean_up_tokenization(std::string text);
// Whether clean_up_tokenization(a + b) == clean_up_tokenization(a) + clean_up_tokenization(b)
// for every continuation b when a ends at byte `pos` of s (s[pos] is known).
bool is_clean_up_boundary(std::string_view s, size_t pos);

}  // namespace tok
}  // namespace cpplm
