// Chat template loading (chat_template.jinja / tokenizer_config.json) and the apply_chat_template context.
#include "tokenizer/jinja/chat_template.h"

#include <filesystem>

#include "core/error.h"
#include "core/json_file.h"

namespace cpplm::jinja {

namespace {

// A special token as tokenizer_config.json stores it: "<s>", {"content": "<s>", ...} or null.
std::optional<std::string> token_field(const nlohmann::ordered_json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return std::nullopt;
  const auto& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

// "chat_template" as a string, or the entry named "default" of a list of {name, template}.
std::optional<std::string> template_field(const nlohmann::ordered_json& config, const std::string& file) {
  if (!config.is_object() || !config.contains("chat_template")) return std::nullopt;
  const auto& t = config["chat_template"];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_array()) {
    for (const auto& entry : t) {
      if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
          entry["template"].is_string()) {
        return entry["template"].get<std::string>();
      }
    }
    throw Error(file + ": chat_template lists several templates and none is named \"default\"");
  }
  if (t.is_null()) return std::nullopt;
  throw Error(file + ": chat_template must be a string or a list of {name, template}");
}

template <typename Json>
Json context_for(const Json& messages, bool add_generation_prompt, const Json& extra, const std::optional<std::string>& bos,
                 const std::optional<std::string>& eos) {
  if (!extra.is_null() && !extra.is_object()) throw Error("chat template: extra variables must be a JSON object");
  // transformers: render(messages=..., tools=None, documents=None, add_generation_prompt=..., **special_tokens, **kwargs)
  Json ctx = Json::object();
  ctx["messages"] = messages;
  ctx["tools"] = nullptr;
  ctx["documents"] = nullptr;
  ctx["add_generation_prompt"] = add_generation_prompt;
  if (bos) ctx["bos_token"] = *bos;
  if (eos) ctx["eos_token"] = *eos;
  if (extra.is_object()) {
    for (auto it = extra.begin(); it != extra.end(); ++it) ctx[it.key()] = it.value();
  }
  return ctx;
}

}  // namespace

ChatTemplate::ChatTemplate(const std::string& source, std::optional<std::string> bos_token, std::optional<std::string> eos_token,
                           std::string name)
    : source_(source),
      bos_token_(std::move(bos_token)),
      eos_token_(std::move(eos_token)),
      template_(std::make_shared<Template>(source, std::move(name))) {}

ChatTemplate ChatTemplate::from_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path root(dir);
  nlohmann::ordered_json config;
  const fs::path config_path = root / "tokenizer_config.json";
  if (fs::exists(config_path)) config = parse_json_file<nlohmann::ordered_json>(config_path.string());
  const auto bos = token_field(config, "bos_token");
  const auto eos = token_field(config, "eos_token");

  const fs::path jinja_path = root / "chat_template.jinja";
  if (fs::exists(jinja_path)) return ChatTemplate(read_file(jinja_path.string()), bos, eos, jinja_path.string());
  const fs::path json_path = root / "chat_template.json";
  if (fs::exists(json_path)) {
    if (auto t = template_field(parse_json_file<nlohmann::ordered_json>(json_path.string()), json_path.string())) {
      return ChatTemplate(*t, bos, eos, json_path.string() + ":chat_template");
    }
  }
  if (auto t = template_field(config, config_path.string())) {
    return ChatTemplate(*t, bos, eos, config_path.string() + ":chat_template");
  }
  ChatTemplate none;
  none.bos_token_ = bos;
  none.eos_token_ = eos;
  return none;
}

std::string ChatTemplate::render(const nlohmann::json& messages, bool add_generation_prompt, const nlohmann::json& extra) const {
  if (!template_) throw Error("this model has no chat template");
  return template_->render(context_for(messages, add_generation_prompt, extra, bos_token_, eos_token_));
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& extra) const {
  if (!template_) throw Error("this model has no chat template");
  return template_->render(context_for(messages, add_generation_prompt, extra, bos_token_, eos_token_));
}

}  // namespace cpplm::jinja
