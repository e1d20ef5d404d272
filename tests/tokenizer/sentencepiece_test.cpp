// tokenizer.model (read with libsentencepiece) gives the same merges and ids as the tokenizer.json
// transformers converts it to (the llama2 fixture).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "test_util.h"
#include "tokenizer/json_scan.h"
#include "tokenizer/tokenizer_impl.h"

namespace cpplm::test {
namespace {

const Tokenizer& llama2_from_model() {
  static std::unique_ptr<Tokenizer> tok =
      Tokenizer::load(tokenizer_dir("llama2"), TokenizerOptions{.prefer_tokenizer_model = true});
  return *tok;
}

TEST(SentencePiece, MergesEqualConvertedTokenizerJson) {
  const std::string text = read_file(tokenizer_dir("llama2") + "/tokenizer.json");
  auto tj = tok::parse_tokenizer_json(text, "llama2");
  auto merges = tok::sentencepiece_merges(tokenizer_dir("llama2") + "/tokenizer.model", /*by_score=*/false);
  ASSERT_EQ(merges.size(), tj.merges.size());
  for (size_t k = 0; k < merges.size(); ++k) {
    ASSERT_EQ(merges[k].first, tj.merges[k].first) << "merge " << k;
    ASSERT_EQ(merges[k].second, tj.merges[k].second) << "merge " << k;
  }
}

TEST(SentencePiece, SameIdsAsTokenizerJsonOnOracleStrings) {
  const Tokenizer& from_json = cached_tokenizer(tokenizer_dir("llama2"));
  const Tokenizer& from_model = llama2_from_model();
  EXPECT_EQ(from_model.vocab_size(), from_json.vocab_size());
  EXPECT_EQ(from_model.bos_id(), from_json.bos_id());
  EXPECT_EQ(from_model.eos_ids(), from_json.eos_ids());
  int checked = 0;
  for (const auto& c : load_json(test_data("tokenizer_reference.json"))["llama2"]["cases"]) {
    const std::string text = c["text"];
    for (bool special : {false, true}) {
      EXPECT_EQ(from_model.encode(text, special), from_json.encode(text, special)) << show(text);
    }
    const auto ids = c["ids_with_special_tokens"].get<std::vector<int32_t>>();
    for (bool skip : {false, true}) EXPECT_EQ(from_model.decode(ids, skip), from_json.decode(ids, skip)) << show(text);
    EXPECT_EQ(from_model.encode(text, false), c["ids"].get<std::vector<int32_t>>()) << show(text);
    ++checked;
  }
  std::printf("[sentencepiece] tokenizer.model == tokenizer.json on %d oracle strings\n", checked);
  EXPECT_EQ(checked, 74);
}

TEST(SentencePiece, SameIdsOnLongerText) {
  const std::string text = read_file(bundled_model_dir() + "/held_out.txt");
  EXPECT_EQ(llama2_from_model().encode(text, true), cached_tokenizer(tokenizer_dir("llama2")).encode(text, true));
}

TEST(SentencePiece, RejectsGarbage) {
  const std::string dir = ::testing::TempDir() + "/cpplm_bad_spm";
  std::filesystem::create_directories(dir);
  { std::ofstream(dir + "/tokenizer.model") << "this is not a protobuf"; }
  try {
    Tokenizer::load(dir);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.model"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cpplm::test
