// Chat template renderings compared byte for byte with transformers' apply_chat_template (tokenizer_reference.json).
#include <gtest/gtest.h>

#include "core/json_file.h"
#include "tokenizer/jinja/chat_template.h"

namespace cpplm::jinja {
namespace {

nlohmann::ordered_json load_reference() {
  return parse_json_file<nlohmann::ordered_json>(std::string(CPPLM_TEST_DATA) + "/tokenizer_reference.json");
}

TEST(ChatOracle, EveryReferenceRenderingIsByteIdentical) {
  const auto ref = load_reference();
  int checked = 0;
  int with_prompt = 0;
  for (const char* name : {"llama3", "llama3_1", "qwen3"}) {
    ASSERT_TRUE(ref.contains(name)) << name;
    const auto tmpl = ChatTemplate::from_dir(std::string(CPPLM_TOKENIZER_DATA) + "/" + name);
    ASSERT_TRUE(tmpl.available()) << name;
    for (const auto& c : ref[name]["chat"]) {
      const bool agp = c["add_generation_prompt"].get<bool>();
      EXPECT_EQ(tmpl.render(c["messages"], agp), c["text"].get<std::string>())
          << name << " add_generation_prompt=" << agp << " messages=" << c["messages"].dump();
      ++checked;
      with_prompt += agp ? 1 : 0;
    }
  }
  std::printf("chat renderings checked: %d (%d with add_generation_prompt)\n", checked, with_prompt);
  EXPECT_EQ(checked, 18);
}

}  // namespace
}  // namespace cpplm::jinja
