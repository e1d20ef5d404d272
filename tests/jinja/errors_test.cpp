// Errors name the template position (name:line:col); limits stop hostile templates with a clear message.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/jinja/template.h"

namespace cpplm::jinja {
namespace {

// The message of the cpplm::Error that parsing + rendering `src` throws ("" if none).
std::string error_of(const std::string& src, const nlohmann::json& ctx = nlohmann::json::object(), Limits limits = {}) {
  try {
    Template(src, "t.jinja", limits).render(ctx);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_error(const std::string& src, const std::string& where_and_what, const nlohmann::json& ctx = nlohmann::json::object(),
                  Limits limits = {}) {
  const std::string msg = error_of(src, ctx, limits);
  EXPECT_EQ(msg.rfind(where_and_what, 0), 0u) << "template: " << src << "\nmessage: " << msg;
}

TEST(JinjaErrors, SyntaxErrorsSayWhere) {
  expect_error("Hello\n  {% if x %}yes", "t.jinja:2:3: unexpected end of template: 'if' block never closed");
  expect_error("{% for m in messages %}\n{{ m }}", "t.jinja:1:1: unexpected end of template: 'for' block never closed");
  expect_error("ab\ncd {{ x ", "t.jinja:2:4: unclosed '{{' tag");
  expect_error("{# never closed", "t.jinja:1:1: missing end of comment tag");
  expect_error("x\n{% frobnicate %}", "t.jinja:2:4: encountered unknown tag 'frobnicate'");
  expect_error("{% endif %}", "t.jinja:1:4: encountered unknown tag 'endif'");
  expect_error("{{ (1 + 2 }}", "t.jinja:1:11: unexpected '}', expected ')'");
  expect_error("{{ 'abc }}", "t.jinja:1:4: unterminated string literal");
  expect_error("{{ 1 + }}", "t.jinja:1:8: unexpected end of print statement");
  expect_error("{% break %}", "t.jinja:1:4: 'break' outside of a loop");
  expect_error("{{ x @ y }}", "t.jinja:1:6: unexpected character '@'");
}

TEST(JinjaErrors, UnknownFilterOrTestIsASyntaxErrorOutsideIf) {
  expect_error("line one\n  {{ name | shout }}", "t.jinja:2:13: no filter named 'shout'");
  expect_error("{{ x is frobbed }}", "t.jinja:1:9: no test named 'frobbed'");
  // jinja2 defers the check inside if branches: the unused branch is fine, the used one fails.
  EXPECT_EQ(Template("{% if false %}{{ x | shout }}{% endif %}ok").render(nlohmann::json::object()), "ok");
  expect_error("{% if true %}{{ x | shout }}{% endif %}", "t.jinja:1:21: no filter named 'shout' found");
}

TEST(JinjaErrors, RaiseExceptionCarriesMessageAndPosition) {
  const std::string src =
      "{% for m in messages %}\n"
      "{% if m.role not in ['user', 'assistant'] %}\n"
      "    {{ raise_exception('Conversation roles must be user/assistant') }}\n"
      "{% endif %}{% endfor %}";
  const nlohmann::json ctx = {{"messages", {{{"role", "robot"}}}}};
  expect_error(src, "t.jinja:3:8: Conversation roles must be user/assistant", ctx);
}

TEST(JinjaErrors, RuntimeErrorsSayWhere) {
  expect_error("{{ x.y }}", "t.jinja:1:5: 'x' is undefined");
  expect_error("{{ d.a.b }}", "t.jinja:1:7: 'dict object' has no attribute 'a'", {{"d", nlohmann::json::object()}});
  expect_error("\n{{ 1 + 'a' }}", "t.jinja:2:6: unsupported operand type(s) for +: 'int' and 'str'");
  expect_error("{{ 'a' + 1 }}", "t.jinja:1:8: can only concatenate str (not \"int\") to str");
  expect_error("{{ 1 // 0 }}", "t.jinja:1:6: integer division or modulo by zero");
  expect_error("{{ [1].append(2) }}", "t.jinja:1:7: access to a mutating method of 'list' object is unsafe");
  expect_error("{{ x | tojson }}", "t.jinja:1:8: Object of type Undefined is not JSON serializable");
  expect_error("{% set a, b = [1] %}", "t.jinja:1:1: not enough values to unpack (expected 2, got 1)");
  expect_error("{{ 1 < 'a' }}", "t.jinja:1:4: '<' not supported between instances of 'int' and 'str'");
  expect_error("{{ none() }}", "t.jinja:1:4: 'NoneType' object is not callable");
}

TEST(JinjaErrors, LimitsStopHostileTemplates) {
  expect_error("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "t.jinja:1:19: template recursion too deep");
  std::string deep(5000, '(');
  EXPECT_NE(error_of("{{ " + deep + "1" + std::string(5000, ')') + " }}").find("t.jinja:1:"), std::string::npos);
  EXPECT_NE(error_of("{{ " + deep + "1" + std::string(5000, ')') + " }}").find("nested too deeply"), std::string::npos);
  EXPECT_NE(error_of("{{ x" + std::string(5000, '|') + "}}").find("t.jinja:1:"), std::string::npos);
  std::string chain = "{{ 1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  EXPECT_NE(error_of(chain + " }}").find("nested too deeply"), std::string::npos);
  Limits small;
  small.max_output_bytes = 1000;
  expect_error("{% for i in range(100) %}{{ 'xxxxxxxxxxxxxxxxxxxx' }}{% endfor %}",
               "t.jinja:1:26: output exceeds the limit of 1000 bytes", nlohmann::json::object(), small);
  expect_error("{{ 'ab' * 100000 }}", "t.jinja:1:9: value of 200000 bytes exceeds the limit", nlohmann::json::object(), small);
  expect_error("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
               "t.jinja:1:", nlohmann::json::object(), small);
  expect_error("{{ range(200000) | length }}", "t.jinja:1:4: Range too big");
  Limits few_steps;
  few_steps.max_steps = 10000;
  expect_error("{% for i in range(100000) %}{% endfor %}", "t.jinja:1:", nlohmann::json::object(), few_steps);
  EXPECT_NE(error_of("{% for i in range(100000) %}{% endfor %}", nlohmann::json::object(), few_steps).find("steps"),
            std::string::npos);
}

}  // namespace
}  // namespace cpplm::jinja
