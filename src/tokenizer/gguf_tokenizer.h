// A GGUF file's tokenizer metadata (`tokenizer.ggml.*`) in plain types: the tokenizer layer may not read GGUF
// itself (it depends on core only), so the caller (src/api) copies the keys here and Tokenizer::from_gguf builds
// the same pipeline tokenizer.json or tokenizer.model would give.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cpplm {

// The strings are views the caller keeps alive while from_gguf runs (a mapped GGUF file).
struct GgufVocab {
  std::string source;                    // the file, for errors
  std::string model;                     // tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama" (SentencePiece)
  std::string pre;                       // tokenizer.ggml.pre ("llama-bpe", "default", ...; empty = default)
  std::vector<std::string_view> tokens;  // tokenizer.ggml.tokens, by id
  std::vector<float> scores;             // tokenizer.ggml.scores (llama: merge priority)
  std::vector<int32_t> token_types;      // tokenizer.ggml.token_type: 1 normal, 2 unknown, 3 control, 4 user-defined,
                                         // 5 unused, 6 byte (llama.cpp llama_token_type)
  std::vector<std::string_view> merges;  // tokenizer.ggml.merges ("a b", gpt2)
  std::optional<int32_t> bos_id, eos_id, eot_id, eom_id, unk_id, pad_id;
  std::optional<bool> add_bos, add_eos;  // absent: llama.cpp's default for the model (llama adds BOS)
  std::optional<bool> add_space_prefix;  // tokenizer.ggml.add_space_prefix (llama; absent = true)
};

// Names of tokenizer.ggml.pre values from_gguf knows, for messages and tests.
std::vector<std::string> gguf_pre_tokenizers();

}  // namespace cpplm
