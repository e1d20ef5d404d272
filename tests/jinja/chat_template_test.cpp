// ChatTemplate: loading from checkpoint folders, the bundled model's template, and multi-turn/tool renderings.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "tokenizer/jinja/chat_template.h"

namespace cpplm::jinja {
namespace {

using nlohmann::ordered_json;

const std::string kTokenizers = CPPLM_TOKENIZER_DATA;

// models/llama-6m-kjv-fortunes/chat_template.jinja is the Llama 3.1 template:
//   '<|start_header_id|>' + role + '<|end_header_id|>\n\n' + (content | trim) + '<|eot_id|>',
// bos_token before the first message, and the assistant header when add_generation_prompt.
TEST(ChatTemplate, BundledModelTemplateRendersTwoMessages) {
  const auto tmpl = ChatTemplate::from_dir(std::string(CPPLM_MODELS_DIR) + "/llama-6m-kjv-fortunes");
  ASSERT_TRUE(tmpl.available());
  const auto messages = ordered_json::parse(R"([
    {"role": "system", "content": "You are wise."},
    {"role": "user", "content": "  Tell me a fortune.\n"}])");
  const std::string turns =
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are wise.<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nTell me a fortune.<|eot_id|>";
  EXPECT_EQ(tmpl.render(messages, /*add_generation_prompt=*/false), turns);
  EXPECT_EQ(tmpl.render(messages, /*add_generation_prompt=*/true), turns + "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, Llama31ThreeTurnConversation) {
  const auto tmpl = ChatTemplate::from_dir(kTokenizers + "/llama3_1");
  ASSERT_TRUE(tmpl.available());
  const auto messages = ordered_json::parse(R"([
    {"role": "user", "content": "Hi!"},
    {"role": "assistant", "content": "Hello. "},
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "4"},
    {"role": "user", "content": "\tAnd 3+3?"}])");
  const std::string expected =
      "<|begin_of_text|>"
      "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nAnd 3+3?<|eot_id|>";
  EXPECT_EQ(tmpl.render(messages, false), expected);
  EXPECT_EQ(tmpl.render(messages, true), expected + "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // nlohmann::json (sorted keys) renders the same: this template never prints a whole dict.
  EXPECT_EQ(tmpl.render(nlohmann::json::parse(messages.dump()), true),
            expected + "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

// Qwen3 with tools, tool calls, tool responses and reasoning; expected text from jinja2 with
// transformers' environment (tools passed, enable_thinking=False).
TEST(ChatTemplate, Qwen3ToolsAndReasoning) {
  const auto tmpl = ChatTemplate::from_dir(kTokenizers + "/qwen3");
  ASSERT_TRUE(tmpl.available());
  const auto messages = ordered_json::parse(
      "[{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Weather in Zürich?\"}, "
      "{\"role\": \"assistant\", \"content\": \"<think>\\nNeed the tool.\\n</think>\\n\\nChecking.\", \"tool_calls\": "
      "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\", \"days\": "
      "2}}}]}, {\"role\": \"tool\", \"content\": \"{\\\"temp\\\": 21.5}\"}, {\"role\": \"tool\", \"content\": \"sunny\"}, "
      "{\"role\": \"assistant\", \"content\": \"21.5 °C and sunny.\", \"reasoning_content\": \"Both results in.\"}, {\"role\": "
      "\"user\", \"content\": \"Thanks\"}]");
  ordered_json extra;
  extra["tools"] = ordered_json::parse(
      "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Weather for a city — now\", "
      "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}, \"days\": {\"type\": "
      "\"integer\", \"minimum\": 1}}, \"required\": [\"city\"]}}}]");
  extra["enable_thinking"] = false;
  EXPECT_EQ(tmpl.render(messages, /*add_generation_prompt=*/true, extra),
            "<|im_start|>system\nBe brief.\n\n# Tools\n\nYou may call one or more functions to assist with the user "
            "query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{\"type\": "
            "\"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Weather for a city — now\", "
            "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}, \"days\": {\"type\": "
            "\"integer\", \"minimum\": 1}}, \"required\": [\"city\"]}}}\n</tools>\n\nFor each function call, return a json "
            "object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": "
            "<function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n<|im_start|>user\nWeather in "
            "Zürich?<|im_end|>\n<|im_start|>assistant\nChecking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
            "{\"city\": \"Zürich\", \"days\": 2}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n{\"temp\": "
            "21.5}\n</tool_response>\n<tool_response>\nsunny\n</tool_response><|im_end|>\n<|im_start|>assistant\n21.5 °C and "
            "sunny.<|im_end|>\n<|im_start|>user\nThanks<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("cpplm_chat_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path_ / name, std::ios::binary) << text; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(ChatTemplate, ConfigWithTemplateListAndTokenObjects) {
  TempDir dir;
  dir.write("tokenizer_config.json", R"({
    "bos_token": {"__type": "AddedToken", "content": "<s>"},
    "eos_token": "</s>",
    "chat_template": [{"name": "tool_use", "template": "TOOLS"},
                      {"name": "default", "template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}{{ eos_token }}"}]})");
  const auto tmpl = ChatTemplate::from_dir(dir.str());
  ASSERT_TRUE(tmpl.available());
  EXPECT_EQ(tmpl.render(ordered_json::parse(R"([{"role":"user","content":"x"}])"), false), "<s>x</s>");
}

TEST(ChatTemplate, JinjaFileWinsAndExtraVariablesMerge) {
  TempDir dir;
  dir.write("tokenizer_config.json", R"({"eos_token": "E", "chat_template": "from config"})");
  dir.write("chat_template.jinja",
            "{{ date_string }}|{{ tools is none }}|{{ documents is none }}|{{ bos_token is defined }}|{{ eos_token }}\n");
  const auto tmpl = ChatTemplate::from_dir(dir.str());
  ordered_json extra;
  extra["date_string"] = "26 Jul 2024";
  EXPECT_EQ(tmpl.render(ordered_json::array(), false, extra), "26 Jul 2024|True|True|False|E");
}

TEST(ChatTemplate, FolderWithoutTemplateIsUnavailable) {
  TempDir dir;
  dir.write("tokenizer_config.json", R"({"bos_token": "<s>"})");
  const auto tmpl = ChatTemplate::from_dir(dir.str());
  EXPECT_FALSE(tmpl.available());
  EXPECT_THROW(tmpl.render(nlohmann::json::array(), true), Error);
  EXPECT_FALSE(ChatTemplate::from_dir(kTokenizers + "/mistral-v0.1").available());
}

TEST(ChatTemplate, BadTemplateNamesFileLineAndColumn) {
  TempDir dir;
  dir.write("chat_template.jinja", "ok\n{% for m in messages %}{{ m | nosuchfilter }}{% endfor %}");
  try {
    ChatTemplate::from_dir(dir.str());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("chat_template.jinja:2:31: no filter named 'nosuchfilter'"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace cpplm::jinja
