// A parsed Jinja template (the jinja2 subset chat templates use) rendered with Hugging Face's environment settings.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cpplm::jinja {

// Bounds that keep hostile templates from exhausting the stack, memory or time.
struct Limits {
  int max_nesting = 200;                       // nested blocks/expressions at parse time; x4 for evaluation depth
  size_t max_output_bytes = size_t{64} << 20;  // rendered output, and any one string or list built while rendering
  uint64_t max_steps = 200'000'000;            // expression evaluations + loop iterations per render
};

struct ParsedTemplate;
class Value;

class Template {
 public:
  // Parses `source` as jinja2 would with trim_blocks and lstrip_blocks (transformers' settings).
  // Throws cpplm::Error "name:line:col: message" on syntax errors.
  explicit Template(std::string_view source, std::string name = "template", Limits limits = {});

  // Renders with the keys of `context` (a JSON object) as variables. Runtime errors, including
  // raise_exception(), throw cpplm::Error "name:line:col: message".
  std::string render(const nlohmann::json& context) const;
  // Same, keeping object keys in document order (what Python's dicts do; matters for tojson).
  std::string render(const nlohmann::ordered_json& context) const;

 private:
  std::string render_value(const Value& context) const;

  std::shared_ptr<const ParsedTemplate> parsed_;
  Limits limits_;
};

}  // namespace cpplm::jinja
