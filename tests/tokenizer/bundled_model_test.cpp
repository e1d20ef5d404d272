// The bundled model (models/llama-6m-kjv-fortunes): prompt ids of its reference.json, special
// tokens from tokenizer_config.json / config.json / generation_config.json.
#include <gtest/gtest.h>

#include "test_util.h"

namespace cpplm::test {
namespace {

TEST(BundledModel, PromptIdsMatchReference) {
  const Tokenizer& tok = cached_tokenizer(bundled_model_dir());
  const nlohmann::json& ref = load_json(bundled_model_dir() + "/reference.json");
  int checked = 0;
  for (const auto& g : ref["greedy"]) {
    EXPECT_EQ(tok.encode(g["prompt"].get<std::string>(), /*add_special_tokens=*/true),
              g["prompt_ids"].get<std::vector<int32_t>>())
        << g["prompt"];
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

TEST(BundledModel, GreedyTextDecodes) {
  const Tokenizer& tok = cached_tokenizer(bundled_model_dir());
  for (const auto& g : load_json(bundled_model_dir() + "/reference.json")["greedy"]) {
    const auto ids = g["greedy_ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.decode(ids, /*skip_special_tokens=*/false), g["greedy_text"].get<std::string>());
    EXPECT_EQ(stream_decode(tok, ids, /*skip_special=*/false), tok.decode(ids, false));
  }
}

TEST(BundledModel, SpecialTokens) {
  const Tokenizer& tok = cached_tokenizer(bundled_model_dir());
  EXPECT_EQ(tok.bos_id(), 0);
  EXPECT_EQ(tok.bos_token(), "<|begin_of_text|>");
  EXPECT_EQ(tok.eos_token(), "<|eot_id|>");
  EXPECT_EQ(tok.eos_ids(), (std::vector<int32_t>{9}));  // tokenizer_config, config and generation_config agree
  EXPECT_EQ(tok.vocab_size(), 4096);
}

TEST(BundledModel, HeldOutTextRoundTrips) {
  const Tokenizer& tok = cached_tokenizer(bundled_model_dir());
  const std::string text = read_file(bundled_model_dir() + "/held_out.txt");
  const auto ids = tok.encode(text, /*add_special_tokens=*/false);
  EXPECT_GT(ids.size(), 1000u);
  EXPECT_EQ(stream_decode(tok, ids, /*skip_special=*/true), tok.decode(ids, true));
}

}  // namespace
}  // namespace cpplm::test
