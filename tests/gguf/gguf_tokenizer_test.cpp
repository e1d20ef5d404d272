// The tokenizer of a GGUF file (tokenizer.ggml.*) against the same model's tokenizer.json, and llama.cpp's ids.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/model_factory.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/json_file.h"
#include "gguf_test_util.h"
#include "tokenizer/gguf_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace cpplm {
namespace {

std::vector<std::string> test_strings() {
  std::vector<std::string> out;
  for (const auto& s : parse_json_file(std::string(CPPLM_TEST_DATA) + "/tokenizer_strings.json"))
    out.push_back(s.get<std::string>());
  const auto ref = parse_json_file(test::bundled_model() + "/reference.json");
  for (const auto& g : ref.at("greedy")) out.push_back(g.at("prompt").get<std::string>());
  std::istringstream held(read_file(test::bundled_model() + "/held_out.txt"));
  std::string line;
  for (int i = 0; std::getline(held, line) && i < 200; ++i) out.push_back(line);
  out.push_back(read_file(test::bundled_model() + "/held_out.txt").substr(0, 4000));
  out.push_back("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
  return out;
}

TEST(GgufTokenizer, SameIdsAsTokenizerJson) {
  TextSide g = load_text_side(test::q2k_file(), "");
  ASSERT_TRUE(g.tokenizer);
  auto h = Tokenizer::load(test::bundled_model());
  EXPECT_EQ(g.tokenizer->vocab_size(), h->vocab_size());
  EXPECT_EQ(g.tokenizer->bos_id(), h->bos_id());
  EXPECT_EQ(g.tokenizer->eos_ids(), h->eos_ids());
  EXPECT_EQ(g.tokenizer->bos_token(), h->bos_token());
  EXPECT_EQ(g.tokenizer->eos_token(), h->eos_token());
  int n = 0;
  for (const std::string& s : test_strings()) {
    for (bool special : {false, true}) EXPECT_EQ(g.tokenizer->encode(s, special), h->encode(s, special)) << "[" << s << "]";
    EXPECT_EQ(g.tokenizer->decode(g.tokenizer->encode(s, false), false), s);  // llama.cpp: no clean-up of spaces
    ++n;
  }
  EXPECT_GT(n, 250);
  for (int32_t id = 0; id < h->vocab_size(); ++id) {
    ASSERT_EQ(g.tokenizer->id_to_piece(id), h->id_to_piece(id)) << id;
    ASSERT_EQ(g.tokenizer->is_special(id), h->is_special(id)) << id;
  }
}

TEST(GgufTokenizer, LlamaCppPromptIds) {
  TextSide g = load_text_side(test::q2k_file(), "");
  const auto ref = parse_json_file(std::string(CPPLM_TEST_DATA) + "/gguf/reference/llamacpp_reference.json");
  for (const auto& p : ref.at("llama-6m-kjv-fortunes-q2_k.gguf")) {
    const std::string text = p.at("prompt").get<std::string>();
    EXPECT_EQ(g.tokenizer->encode(text, false), p.at("llamacpp_tokenize_no_special").get<std::vector<int32_t>>()) << text;
    EXPECT_EQ(g.tokenizer->encode(text, true), p.at("prompt_ids").get<std::vector<int32_t>>()) << text;
  }
}

TEST(GgufTokenizer, ChatTemplateFromMetadata) {
  TextSide g = load_text_side(test::q2k_file(), "");
  ASSERT_TRUE(g.chat_template.available()) << g.template_error;
}

TEST(GgufTokenizer, UnknownPreTokenizerAndModelAreErrors) {
  GgufVocab v;
  v.source = "x.gguf";
  v.model = "gpt2";
  v.pre = "no-such-pre";
  v.tokens = {"a", "b"};
  try {
    Tokenizer::from_gguf(v);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.pre"), std::string::npos) << e.what();
  }
  v.model = "bert";
  v.pre.clear();
  try {
    Tokenizer::from_gguf(v);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"bert\" is not supported"), std::string::npos) << e.what();
  }
}

// SentencePiece ("llama") vocabularies: scores rank the merges, byte fallback for the rest, "▁" for spaces.
TEST(GgufTokenizer, SentencePieceVocabulary) {
  GgufVocab v;
  v.source = "spm.gguf";
  v.model = "llama";
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "h", "i", "\xE2\x96\x81h", "\xE2\x96\x81hi", "hi"};
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    bytes.push_back(buf);
  }
  for (const auto& p : pieces) v.tokens.push_back(p);
  for (const auto& p : bytes) v.tokens.push_back(p);
  v.scores.assign(v.tokens.size(), 0.0f);
  v.scores[6] = -1, v.scores[7] = -2, v.scores[8] = -3;
  v.token_types.assign(v.tokens.size(), 1);
  v.token_types[0] = 2, v.token_types[1] = 3, v.token_types[2] = 3;
  for (size_t i = pieces.size(); i < v.tokens.size(); ++i) v.token_types[i] = 6;
  v.unk_id = 0, v.bos_id = 1, v.eos_id = 2;
  auto t = Tokenizer::from_gguf(v);
  EXPECT_EQ(t->encode("hi hi", true), (std::vector<int32_t>{1, 7, 7}));
  const int32_t x = static_cast<int32_t>(pieces.size()) + 'x';
  EXPECT_EQ(t->encode("hix", false), (std::vector<int32_t>{7, x}));
  EXPECT_EQ(t->decode(t->encode("hi hix", true), true), "hi hix");
}

}  // namespace
}  // namespace cpplm
