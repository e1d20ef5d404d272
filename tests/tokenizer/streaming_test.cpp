// StreamingDetokenizer: each piece is whole UTF-8, and the pieces add up to the full decode
// (byte-level emoji, byte-fallback runs, SentencePiece leading space, clean-up spaces).
#include <gtest/gtest.h>

#include "test_util.h"
#include "tokenizer/unicode.h"

namespace cpplm::test {
namespace {

void check_stream(const Tokenizer& tok, const std::string& text, bool skip_special) {
  const auto ids = tok.encode(text, /*add_special_tokens=*/true);
  StreamingDetokenizer d(tok, skip_special);
  std::string all;
  for (int32_t id : ids) {
    std::string piece = d.add(id);
    EXPECT_TRUE(tok::utf8_valid(piece)) << show(text) << " piece " << show(piece);
    all += piece;
  }
  all += d.finish();
  EXPECT_EQ(all, tok.decode(ids, skip_special)) << show(text);
}

const char* const kTexts[] = {
    "emoji 🦙 llama 👨‍👩‍👧‍👦 family 🚀🚀",
    "  leading spaces and trailing  ",
    "日本語のテキスト 中文测试 한국어",
    "Hello , world . I 'm here ; don 't you n't think ' s ?",
    "<s>text</s> <|eot_id|> <|im_start|>user\nhi<|im_end|>",
    "\xff broken \xe2\x82 bytes",
    "ÿÿ naïve café",
};

TEST(Streaming, PiecesAreWholeAndAddUp) {
  for (const char* name : {"llama3", "llama3_1", "mistral-v0.1", "qwen3", "llama2"}) {
    const Tokenizer& tok = cached_tokenizer(tokenizer_dir(name));
    for (const char* text : kTexts) {
      check_stream(tok, text, /*skip_special=*/false);
      check_stream(tok, text, /*skip_special=*/true);
    }
  }
}

TEST(Streaming, EmojiIsHeldUntilComplete) {
  const Tokenizer& tok = cached_tokenizer(tokenizer_dir("llama2"));
  // "🦙" is four byte-fallback tokens in Llama 2.
  auto ids = tok.encode("🦙", false);
  ASSERT_GE(ids.size(), 4u);
  StreamingDetokenizer d(tok);
  std::string out;
  for (size_t k = 0; k + 1 < ids.size(); ++k) out += d.add(ids[k]);
  EXPECT_EQ(out, "");
  out += d.add(ids.back());
  EXPECT_EQ(out, "🦙");
  EXPECT_EQ(d.finish(), "");
}

TEST(Streaming, SentencePieceLeadingSpace) {
  const Tokenizer& tok = cached_tokenizer(tokenizer_dir("mistral-v0.1"));
  StreamingDetokenizer d(tok);
  std::string out;
  for (int32_t id : tok.encode("Hello world", /*add_special_tokens=*/true)) out += d.add(id);
  out += d.finish();
  EXPECT_EQ(out, "Hello world");  // no space before "Hello"; the one before "world" kept
}

TEST(Streaming, ResetStartsOver) {
  const Tokenizer& tok = cached_tokenizer(tokenizer_dir("llama3"));
  StreamingDetokenizer d(tok);
  auto ids = tok.encode("🦙", false);
  d.add(ids[0]);
  d.reset();
  std::string out;
  for (int32_t id : tok.encode("ok", false)) out += d.add(id);
  EXPECT_EQ(out + d.finish(), "ok");
}

}  // namespace
}  // namespace cpplm::test
