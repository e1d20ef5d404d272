// Text ↔ token ids exactly as Hugging Face tokenizers/transformers do, from a checkpoint folder
// (tokenizer.json, or tokenizer.model via SentencePiece), plus a streaming detokenizer.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cpplm {

struct GgufVocab;  // tokenizer/gguf_tokenizer.h

struct TokenizerOptions {
  // Use dir/tokenizer.model even when dir/tokenizer.json exists.
  bool prefer_tokenizer_model = false;
  // For tokenizer.model: tokenize as SentencePiece itself does (and llama.cpp, transformers.js,
  // transformers 4 tokenizer.json files): merges ranked by piece score and "▁" prepended to every
  // text segment. Off (default): the pipeline transformers 5 converts tokenizer.model to
  // (merges ranked by piece id, no "▁" before text that already starts with a space).
  bool sentencepiece_native = false;
};

class Tokenizer {
 public:
  // Loads dir/tokenizer.json, or dir/tokenizer.model when there is no tokenizer.json, and the
  // special tokens of dir/tokenizer_config.json, config.json and generation_config.json when
  // present. Throws cpplm::Error naming the file and field on any problem.
  static std::unique_ptr<Tokenizer> load(const std::string& dir, const TokenizerOptions& options = {});

  // Loads a tokenizer.json file alone (no special-token configuration besides its own).
  static std::unique_ptr<Tokenizer> from_tokenizer_json(const std::string& path);

  // A GGUF file's tokenizer (tokenizer/gguf_tokenizer.cpp): the same stages, built from its metadata.
  static std::unique_ptr<Tokenizer> from_gguf(const GgufVocab& vocab);

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Text → ids. Added/special tokens written in the text are always recognised (HF default);
  // add_special_tokens adds the post-processor's tokens (e.g. BOS). Invalid UTF-8 is read
  // lossily (each invalid sequence becomes U+FFFD), as Python's errors="replace" would.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const;

  // Ids → text (HF decode, including transformers' clean_up_tokenization_spaces when the
  // tokenizer_config asks for it). Unknown ids are skipped.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const;

  // Beginning-of-sequence id, if the model has one.
  std::optional<int32_t> bos_id() const;
  // Every id that ends generation: union of tokenizer_config eos_token, config.json and
  // generation_config.json eos_token_id (int or list), in that order, without duplicates.
  const std::vector<int32_t>& eos_ids() const;
  // Token strings for chat templates; empty when not defined.
  std::string bos_token() const;
  std::string eos_token() const;

  // One past the largest id of the vocabulary and the added tokens.
  int32_t vocab_size() const;
  // The token string of an id (added tokens included); empty for unknown ids.
  std::string id_to_piece(int32_t id) const;
  std::optional<int32_t> piece_to_id(std::string_view piece) const;
  // The bytes `id` adds to decoded text, even when they are not valid UTF-8 alone (a byte-level
  // BPE token holding part of a character, a SentencePiece <0xNN> byte): what OpenAI's logprobs
  // "bytes" report. Equals decode({id}) whenever that is valid on its own.
  std::string token_bytes(int32_t id) const;
  // True for added tokens marked special (skipped by decode(..., skip_special_tokens=true)).
  bool is_special(int32_t id) const;
  // Whether decode applies transformers' clean_up_tokenization_spaces.
  bool clean_up_tokenization_spaces() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class StreamingDetokenizer;
};

// Turns ids into text as they arrive: add() returns only text that is final (never a partial
// UTF-8 character, byte-fallback sequences joined, SentencePiece leading space handled);
// finish() flushes the rest. The concatenation equals Tokenizer::decode of all ids.
class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens = true);
  std::string add(int32_t id);
  std::string finish();
  // Forgets everything (a new sequence).
  void reset();

 private:
  std::string take(bool final);

  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::vector<int32_t> ids_;  // ids since prefix_offset_ (the window still being decoded)
  size_t read_offset_ = 0;    // ids_[0, read_offset_) were already turned into text
  std::string pending_;       // decoded but held back for clean_up_tokenization_spaces
};

}  // namespace cpplm
