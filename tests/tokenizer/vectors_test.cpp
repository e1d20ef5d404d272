// Published test vectors: llama.cpp's ggml-vocab-*.gguf.{inp,out} and cases extracted from
// transformers.js, each run on the fixture tokenizer whose vocabulary they were made with.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

#include "test_util.h"

namespace cpplm::test {
namespace {

std::vector<std::string> read_inputs(const std::string& path) {
  const std::string all = read_file(path);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  size_t prev = 0, pos;
  while ((pos = all.find(sep, prev)) != std::string::npos) {
    out.push_back(all.substr(prev, pos - prev));
    prev = pos + sep.size();
  }
  return out;
}

std::vector<std::vector<int32_t>> read_outputs(const std::string& path) {
  std::vector<std::vector<int32_t>> out;
  std::istringstream lines(read_file(path));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream ss(line);
    std::vector<int32_t> ids;
    int32_t id;
    while (ss >> id) ids.push_back(id);
    out.push_back(ids);
  }
  return out;
}

// llama.cpp tokenizes without BOS and with special-token parsing (test-tokenizer-0).
int check_llama_cpp(const Tokenizer& tok, const std::vector<std::string>& inputs,
                    const std::vector<std::vector<int32_t>>& outputs, const std::string& what) {
  EXPECT_EQ(inputs.size(), outputs.size()) << what;
  int passed = 0;
  for (size_t k = 0; k < std::min(inputs.size(), outputs.size()); ++k) {
    auto got = tok.encode(inputs[k], /*add_special_tokens=*/false);
    EXPECT_EQ(got, outputs[k]) << what << " case " << k << ": " << show(inputs[k]);
    passed += got == outputs[k];
  }
  std::printf("[vectors] %s: %d/%zu\n", what.c_str(), passed, outputs.size());
  return passed;
}

const std::string kVectors = "tokenizer-vectors/";

TEST(LlamaCppVectors, LlamaBpeWithLlama3) {
  const Tokenizer& tok = cached_tokenizer(tokenizer_dir("llama3"));
  auto in = read_inputs(test_data(kVectors + "ggml-vocab-llama-bpe.gguf.inp"));
  auto out = read_outputs(test_data(kVectors + "ggml-vocab-llama-bpe.gguf.out"));
  EXPECT_EQ(out.size(), 44u);
  EXPECT_EQ(check_llama_cpp(tok, in, out, "llama.cpp llama-bpe (llama3)"), 44);
}

// llama-spm and tinyllama were made with SentencePiece semantics (a "▁" before every segment,
// merges by score): the llama2 tokenizer.model in sentencepiece_native mode.
const Tokenizer& llama2_native() {
  static std::unique_ptr<Tokenizer> tok =
      Tokenizer::load(tokenizer_dir("llama2"), TokenizerOptions{.prefer_tokenizer_model = true, .sentencepiece_native = true});
  return *tok;
}

TEST(LlamaCppVectors, LlamaSpmWithLlama2) {
  // tests/data has no ggml-vocab-llama-spm.gguf.inp; llama.cpp writes every .inp from the same
  // list of strings (convert_hf_to_gguf_update.py), and the spm file predates its last entry.
  auto in = read_inputs(test_data(kVectors + "ggml-vocab-llama-bpe.gguf.inp"));
  auto out = read_outputs(test_data(kVectors + "ggml-vocab-llama-spm.gguf.out"));
  EXPECT_EQ(out.size(), 43u);
  in.resize(out.size());
  EXPECT_EQ(check_llama_cpp(llama2_native(), in, out, "llama.cpp llama-spm (llama2 tokenizer.model, native)"), 43);
}

TEST(LlamaCppVectors, TinyLlamaWithLlama2) {
  auto in = read_inputs(test_data(kVectors + "ggml-vocab-tinyllama.gguf.inp"));
  auto out = read_outputs(test_data(kVectors + "ggml-vocab-tinyllama.gguf.out"));
  EXPECT_EQ(out.size(), 11u);
  EXPECT_EQ(check_llama_cpp(llama2_native(), in, out, "llama.cpp tinyllama (llama2 tokenizer.model, native)"), 11);
}

// A transformers.js vector set applies to a tokenizer when every (id, token) it lists agrees.
bool vocab_matches(const Tokenizer& tok, const nlohmann::json& cases, std::string& why) {
  for (const auto& [name, c] : cases.items()) {
    const auto& ids = c["ids"];
    const auto& tokens = c["tokens"];
    // "tokens" leaves out the special tokens the post-processor added.
    size_t t = 0;
    for (const auto& id : ids) {
      if (tok.is_special(id.get<int32_t>()) && (t >= tokens.size() || tok.id_to_piece(id) != tokens[t].get<std::string>()))
        continue;
      if (t >= tokens.size()) break;
      if (tok.id_to_piece(id.get<int32_t>()) != tokens[t].get<std::string>()) {
        why = name + ": id " + std::to_string(id.get<int32_t>()) + " is " + show(tok.id_to_piece(id.get<int32_t>())) +
              " here but " + show(tokens[t].get<std::string>()) + " in the vectors";
        return false;
      }
      ++t;
    }
  }
  return true;
}

struct JsSet {
  const char* file;
  const char* model;
  const char* tokenizer;  // fixture folder, "llama2-native", or "" when no fixture has its vocabulary
};

const JsSet kJsSets[] = {
    {"transformersjs_llama_tokenizer_vectors.json", "Xenova/llama-tokenizer", "llama2-native"},
    {"transformersjs_llama_tokenizer_vectors.json", "Xenova/llama3-tokenizer", "llama3"},
    {"transformersjs_llama_tokenizer_vectors.json", "Xenova/llama3-tokenizer-new", "llama3_1"},
    {"transformersjs_llama_tokenizer_vectors.json", "Xenova/TinyLLama-v0", ""},
    {"transformersjs_llama_tokenizer_vectors.json", "Xenova/deepseek-coder-1.3b-instruct", ""},
    {"transformersjs_llama_tokenizer_vectors.json", "Xenova/tamillama_tiny_30m", ""},
    {"transformersjs_qwen2_tokenizer_vectors.json", "Xenova/Qwen1.5-0.5B-Chat", "qwen3"},
};

TEST(TransformersJsVectors, EverySetOnItsTokenizer) {
  for (const JsSet& set : kJsSets) {
    const nlohmann::json& cases = load_json(test_data(kVectors + set.file))[set.model];
    const std::string which = set.tokenizer;
    if (which.empty()) {
      // Check the claim that no fixture has this vocabulary.
      for (const char* name : {"llama2", "llama3", "llama3_1", "mistral-v0.1", "qwen3"}) {
        std::string why;
        EXPECT_FALSE(vocab_matches(cached_tokenizer(tokenizer_dir(name)), cases, why)) << set.model << " vs " << name;
      }
      std::printf("[vectors] transformers.js %s: %zu cases not applicable (no fixture has its vocabulary)\n", set.model,
                  cases.size());
      continue;
    }
    const Tokenizer& tok = which == "llama2-native" ? llama2_native() : cached_tokenizer(tokenizer_dir(which));
    std::string why;
    EXPECT_TRUE(vocab_matches(tok, cases, why)) << set.model << ": " << why;
    int passed = 0;
    for (const auto& [name, c] : cases.items()) {
      const std::string text = c["text"];
      const auto ids = c["ids"].get<std::vector<int32_t>>();
      const auto got = tok.encode(text, /*add_special_tokens=*/true);
      const std::string dec = tok.decode(ids, /*skip_special_tokens=*/false);
      EXPECT_EQ(got, ids) << set.model << " " << name << ": " << show(text);
      EXPECT_EQ(dec, c["decoded"].get<std::string>()) << set.model << " " << name << " decoded";
      passed += got == ids && dec == c["decoded"].get<std::string>();
    }
    std::printf("[vectors] transformers.js %s (%s): %d/%zu\n", set.model, which.c_str(), passed, cases.size());
    EXPECT_EQ(passed, static_cast<int>(cases.size())) << set.model;
  }
}

}  // namespace
}  // namespace cpplm::test
