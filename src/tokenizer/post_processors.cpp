// Post-processors of tokenizer.json (HF tokenizers src/processors): TemplateProcessing,
// ByteLevel (no effect on ids), Roberta/Bert, Sequence. Only the single-sequence form is used.
#include "core/error.h"
#include "tokenizer/components.h"

namespace cpplm::tok {

namespace {

// Template with the sequence in the middle: before + ids + after.
class Template : public PostProcessor {
 public:
  Template(std::vector<int32_t> before, std::vector<int32_t> after) : before_(std::move(before)), after_(std::move(after)) {}
  void process(std::vector<int32_t>& ids) const override {
    ids.insert(ids.begin(), before_.begin(), before_.end());
    ids.insert(ids.end(), after_.begin(), after_.end());
  }

 private:
  std::vector<int32_t> before_, after_;
};

class NoOp : public PostProcessor {
 public:
  void process(std::vector<int32_t>&) const override {}
};

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  void process(std::vector<int32_t>& ids) const override {
    for (const auto& p : parts_) p->process(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

std::unique_ptr<PostProcessor> make_template_processing(const nlohmann::json& j, const std::string& where) {
  if (!j.contains("single") || !j["single"].is_array()) {
    throw Error(where + ": post_processor TemplateProcessing has no \"single\" template");
  }
  const nlohmann::json special = j.value("special_tokens", nlohmann::json::object());
  std::vector<int32_t> before, after;
  bool seen_sequence = false;
  for (const auto& piece : j["single"]) {
    if (piece.contains("Sequence")) {
      seen_sequence = true;
      continue;
    }
    if (!piece.contains("SpecialToken") || !piece["SpecialToken"].contains("id")) {
      throw Error(where + ": post_processor TemplateProcessing piece " + piece.dump() + " is neither Sequence nor SpecialToken");
    }
    std::string name = piece["SpecialToken"]["id"].get<std::string>();
    if (!special.contains(name) || !special[name].contains("ids") || !special[name]["ids"].is_array()) {
      throw Error(where + ": post_processor TemplateProcessing uses special token '" + name + "' missing from special_tokens");
    }
    for (const auto& id : special[name]["ids"]) (seen_sequence ? after : before).push_back(id.get<int32_t>());
  }
  return std::make_unique<Template>(std::move(before), std::move(after));
}

}  // namespace

std::unique_ptr<PostProcessor> make_template(const std::vector<int32_t>& before, const std::vector<int32_t>& after) {
  return std::make_unique<Template>(before, after);
}

std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& j, const std::string& where) {
  if (j.is_null()) return nullptr;
  const std::string type = component_type(j, where, "post_processor");
  try {
    if (type == "TemplateProcessing") return make_template_processing(j, where);
    if (type == "ByteLevel") return std::make_unique<NoOp>();
    if (type == "RobertaProcessing" || type == "BertProcessing") {
      // "cls": ["<s>", 0], "sep": ["</s>", 2]
      return std::make_unique<Template>(std::vector<int32_t>{j.at("cls").at(1).get<int32_t>()},
                                        std::vector<int32_t>{j.at("sep").at(1).get<int32_t>()});
    }
    if (type == "Sequence") {
      std::vector<std::unique_ptr<PostProcessor>> parts;
      for (const auto& p : j.at("processors")) {
        if (auto n = make_post_processor(p, where)) parts.push_back(std::move(n));
      }
      return std::make_unique<SequenceProcessor>(std::move(parts));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": post_processor " + type + " is malformed: " + e.what());
  }
  throw Error(where + ": unsupported post_processor type '" + type + "'");
}

}  // namespace cpplm::tok
