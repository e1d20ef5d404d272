// libFuzzer target: any bytes as a chat template, parsed and rendered with a small fixed context; must never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "tokenizer/jinja/template.h"

namespace {

const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "You are terse."},
      {"role": "user", "content": "  Hi <b>there</b> \u00e9\ud83d\ude00\n"},
      {"role": "assistant", "content": "<think>\nr\n</think>\n\nok", "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": {"x": 1, "y": [true, null, 2.5]}}}]},
      {"role": "tool", "content": "{\"r\": 1}"}
    ],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "add_generation_prompt": true,
    "bos_token": "<s>",
    "eos_token": "</s>",
    "n": 3, "f": 1.5, "s": "str", "d": {"k": "v"}, "l": [3, 1, 2]
  })");
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cpplm::jinja::Limits limits;
  limits.max_output_bytes = size_t{1} << 20;
  limits.max_steps = 200000;
  try {
    const cpplm::jinja::Template tmpl(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz", limits);
    (void)tmpl.render(context());
  } catch (const cpplm::Error&) {
    // Syntax and runtime errors are expected; any other exception escapes and counts as a bug.
  }
  return 0;
}
