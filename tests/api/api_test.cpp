// The public API (include/cpplm/cpplm.h) on the bundled model.
#include <gtest/gtest.h>

#include <cpplm/cpplm.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace {

const std::string kModel = std::string(CPPLM_MODELS_DIR) + "/llama-6m-kjv-fortunes";

TEST(Api, GenerateStreamsTheSameTextItReturns) {
  cpplm::LoadOptions opts;
  opts.device = "cpu";
  opts.threads = 2;
  auto e = cpplm::Engine::load(kModel, opts);
  cpplm::GenerationConfig cfg;
  cfg.max_tokens = 32;
  std::string streamed;
  auto r = e->generate("In the beginning God", cfg, [&](const std::string& t) {
    streamed += t;
    return true;
  });
  EXPECT_EQ(streamed, r.text);
  EXPECT_EQ(r.text, " created the Saved Holiday.  In the day of the\nAmerica, the first day, he had been at the end");
  EXPECT_EQ(r.finish_reason, "length");
  EXPECT_EQ(r.generation_tokens, 32);
  EXPECT_EQ(e->device(), "cpu");
}

TEST(Api, CallbackCanStop) {
  auto e = cpplm::Engine::load(kModel);
  cpplm::GenerationConfig cfg;
  int calls = 0;
  auto r = e->generate("Once upon a time", cfg, [&](const std::string&) { return ++calls < 3; });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(r.finish_reason, "stop");
}

TEST(Api, ChatTemplateAndEncode) {
  auto e = cpplm::Engine::load(kModel);
  ASSERT_TRUE(e->has_chat_template());
  const std::string s = e->apply_chat_template({{"user", "Hi"}}, true);
  EXPECT_EQ(s,
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_"
            "id|>\n\n");
  EXPECT_EQ(e->encode("In the beginning God", true), (std::vector<int32_t>{0, 1357, 515, 2653, 686}));
  EXPECT_EQ(e->decode({1357, 515}), "In the");
  EXPECT_EQ(e->eos_ids(), std::vector<int32_t>{9});
}

TEST(Api, ChatReusesTheConversation) {
  auto e = cpplm::Engine::load(kModel);
  cpplm::GenerationConfig cfg;
  cfg.max_tokens = 8;
  std::vector<cpplm::Message> conv = {{"user", "Who made the world?"}};
  const int first = static_cast<int>(e->encode(e->apply_chat_template(conv, true), false).size());
  auto r1 = e->chat(conv, cfg);
  conv.push_back({"assistant", r1.text});
  conv.push_back({"user", "And then?"});
  auto r2 = e->chat(conv, cfg);
  // Only the new part of the conversation was run through the model.
  const int full = static_cast<int>(e->encode(e->apply_chat_template(conv, true), false).size());
  EXPECT_LE(r2.prompt_tokens, full - first);
  e->reset();
  auto r3 = e->chat(conv, cfg);
  EXPECT_EQ(r3.prompt_tokens, full);
  EXPECT_EQ(r3.text, r2.text);
}

TEST(Api, ErrorsAreExceptionsWithTheFileName) {
  try {
    cpplm::Engine::load("/nonexistent/model");
    FAIL();
  } catch (const std::runtime_error& err) {
    EXPECT_NE(std::string(err.what()).find("/nonexistent/model"), std::string::npos);
  }
  auto e = cpplm::Engine::load(kModel);
  cpplm::GenerationConfig bad;
  bad.top_p = -1;
  EXPECT_THROW(e->generate("x", bad), std::runtime_error);
}

}  // namespace

namespace {

// A checkpoint whose chat template does not parse still loads: raw-text generation and perplexity
// need no template; using the template reports its error.
TEST(Api, BrokenChatTemplateFailsOnlyWhenUsed) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / ("cpplm_broken_template_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(kModel, dir);
  std::ofstream(dir / "chat_template.jinja", std::ios::trunc) << "{% for m in messages %}{{ m.content ";
  cpplm::LoadOptions opts;
  opts.device = "cpu";
  auto e = cpplm::Engine::load(dir.string(), opts);
  cpplm::GenerationConfig cfg;
  cfg.max_tokens = 4;
  EXPECT_EQ(e->generate("In the beginning God", cfg).generation_tokens, 4);
  EXPECT_GT(e->perplexity("In the beginning God created the heaven and the earth.", 16).tokens_scored, 0);
  EXPECT_TRUE(e->has_chat_template());
  EXPECT_THROW(e->apply_chat_template({{"user", "Hello"}}), std::runtime_error);
  fs::remove_all(dir);
}

}  // namespace
