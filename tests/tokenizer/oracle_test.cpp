// Every case of tests/data/tokenizer_reference.json (HF tokenizers 0.23 / transformers 5.17) on
// the five fixture tokenizers: ids, ids with special tokens, both decodes, streaming decode.
#include <gtest/gtest.h>

#include <cstdio>

#include "test_util.h"

namespace cpplm::test {
namespace {

const nlohmann::json& reference() { return load_json(test_data("tokenizer_reference.json")); }

class Oracle : public ::testing::TestWithParam<std::string> {};

TEST_P(Oracle, EveryCaseMatches) {
  const std::string name = GetParam();
  const nlohmann::json& ref = reference()[name];
  const Tokenizer& tok = cached_tokenizer(tokenizer_dir(name));
  int passed = 0, total = 0;
  for (const auto& c : ref["cases"]) {
    ++total;
    const std::string text = c["text"];
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    const auto ids_sp = c["ids_with_special_tokens"].get<std::vector<int32_t>>();
    const auto got = tok.encode(text, /*add_special_tokens=*/false);
    const auto got_sp = tok.encode(text, /*add_special_tokens=*/true);
    const std::string dec = tok.decode(ids, /*skip_special_tokens=*/false);
    const std::string dec_skip = tok.decode(ids, /*skip_special_tokens=*/true);
    EXPECT_EQ(got, ids) << name << " ids of " << show(text);
    EXPECT_EQ(got_sp, ids_sp) << name << " ids_with_special_tokens of " << show(text);
    EXPECT_EQ(dec, c["decoded"].get<std::string>()) << name << " decoded of " << show(text);
    EXPECT_EQ(dec_skip, c["decoded_skip_special"].get<std::string>()) << name << " decoded_skip_special of " << show(text);
    const bool ok = got == ids && got_sp == ids_sp && dec == c["decoded"].get<std::string>() &&
                    dec_skip == c["decoded_skip_special"].get<std::string>();
    passed += ok;
  }
  std::printf("[oracle] %s: %d/%d cases identical (ids, ids_with_special_tokens, decoded, decoded_skip_special)\n", name.c_str(),
              passed, total);
  EXPECT_EQ(passed, total);
}

TEST_P(Oracle, StreamingEqualsFullDecode) {
  const std::string name = GetParam();
  const Tokenizer& tok = cached_tokenizer(tokenizer_dir(name));
  int checked = 0;
  for (const auto& c : reference()[name]["cases"]) {
    for (const char* key : {"ids", "ids_with_special_tokens"}) {
      const auto ids = c[key].get<std::vector<int32_t>>();
      for (bool skip : {false, true}) {
        EXPECT_EQ(stream_decode(tok, ids, skip), tok.decode(ids, skip))
            << name << " " << key << " skip=" << skip << " of " << show(c["text"]);
        ++checked;
      }
    }
  }
  std::printf("[oracle] %s: streaming == decode on %d id lists\n", name.c_str(), checked);
}

TEST_P(Oracle, SpecialTokensAndVocabSize) {
  const std::string name = GetParam();
  const nlohmann::json& ref = reference()[name];
  const Tokenizer& tok = cached_tokenizer(tokenizer_dir(name));
  EXPECT_EQ(tok.vocab_size(), ref["vocab_size"].get<int32_t>());
  if (ref["bos"].is_null()) {
    EXPECT_FALSE(tok.bos_id().has_value());
    EXPECT_EQ(tok.bos_token(), "");
  } else {
    EXPECT_EQ(tok.bos_token(), ref["bos"].get<std::string>());
    ASSERT_TRUE(tok.bos_id().has_value());
    EXPECT_EQ(tok.id_to_piece(*tok.bos_id()), ref["bos"].get<std::string>());
  }
  EXPECT_EQ(tok.eos_token(), ref["eos"].get<std::string>());
  ASSERT_FALSE(tok.eos_ids().empty());
  EXPECT_EQ(tok.eos_ids()[0], *tok.piece_to_id(ref["eos"].get<std::string>()));
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, Oracle, ::testing::Values("llama3", "llama3_1", "mistral-v0.1", "qwen3", "llama2"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) ch = isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return n;
                         });

}  // namespace
}  // namespace cpplm::test
