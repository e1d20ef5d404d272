// Chat template of a checkpoint: renders messages exactly as transformers' apply_chat_template(tokenize=False).
#pragma once
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/jinja/template.h"

namespace cpplm::jinja {

class ChatTemplate {
 public:
  ChatTemplate() = default;  // no template: available() is false
  // From template text and special tokens (std::nullopt: the variable stays undefined, as for
  // Qwen's null bos_token). Throws cpplm::Error "name:line:col: ..." on syntax errors.
  ChatTemplate(const std::string& source, std::optional<std::string> bos_token, std::optional<std::string> eos_token,
               std::string name = "chat_template");

  // Reads DIR/chat_template.jinja if present, else DIR/chat_template.json's or
  // DIR/tokenizer_config.json's "chat_template" (a string, or a list of {name, template}: "default"
  // is used). bos/eos come from tokenizer_config.json (strings or {"content": ...}). A folder
  // without a template gives an unavailable ChatTemplate; unreadable files or bad templates throw.
  static ChatTemplate from_dir(const std::string& dir);

  bool available() const { return template_ != nullptr; }
  const std::string& source() const { return source_; }

  // Renders with messages, add_generation_prompt, tools=None, documents=None, bos_token,
  // eos_token, then every key of `extra` (e.g. tools, date_string, enable_thinking) on top.
  // Throws cpplm::Error (with line:col) on template errors and raise_exception().
  std::string render(const nlohmann::json& messages, bool add_generation_prompt, const nlohmann::json& extra = {}) const;
  // Same with key order kept as in the document (Python dict order; matters for tojson).
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& extra = {}) const;

 private:
  std::string source_;
  std::optional<std::string> bos_token_;
  std::optional<std::string> eos_token_;
  std::shared_ptr<const Template> template_;
};

}  // namespace cpplm::jinja
