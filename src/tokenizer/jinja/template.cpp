// Template: normalize, tokenize and parse once; render with a fresh evaluator per call.
#include "tokenizer/jinja/template.h"

#include "core/error.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/parser.h"

namespace cpplm::jinja {

struct ParsedTemplate {
  std::string name;
  std::string src;
  SourceMap map;
  Body body;
};

Template::Template(std::string_view source, std::string name, Limits limits) : limits_(limits) {
  auto p = std::make_shared<ParsedTemplate>();
  p->name = name;
  p->src = normalize_source(source);
  p->map = SourceMap(std::move(name), p->src);
  const std::vector<Token> tokens = tokenize(p->src, p->map);
  p->body = parse_template(tokens, p->map, limits.max_nesting);
  parsed_ = std::move(p);
}

std::string Template::render(const nlohmann::json& context) const {
  if (!context.is_object() && !context.is_null()) throw Error(parsed_->name + ": render context must be a JSON object");
  try {
    return render_value(Value::from_json(context));
  } catch (const std::length_error& e) {
    throw Error(parsed_->name + ": " + e.what());
  }
}

std::string Template::render(const nlohmann::ordered_json& context) const {
  if (!context.is_object() && !context.is_null()) throw Error(parsed_->name + ": render context must be a JSON object");
  try {
    return render_value(Value::from_json(context));
  } catch (const std::length_error& e) {
    throw Error(parsed_->name + ": " + e.what());
  }
}

std::string Template::render_value(const Value& context) const {
  auto root = std::make_shared<Scope>();
  if (context.is_dict()) {
    for (const auto& [k, v] : context.dict_ref().items) root->vars[k] = v;
  }
  Evaluator ev(parsed_->map, limits_);
  try {
    return ev.render(parsed_->body, root);
  } catch (const Fail& f) {  // only failures outside any statement reach here
    throw Error(parsed_->name + ": " + f.msg);
  }
}

}  // namespace cpplm::jinja
