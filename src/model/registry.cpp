// The model_type registry: one table, one function per family difference.
#include "model/registry.h"

#include "core/error.h"

namespace cpplm {
namespace {

// transformers' LlamaModel has no sliding window; a stray sliding_window is ignored unless
// layer_types asks for it.
void llama_layout(ModelArgs& a) {
  if (a.layer_types.empty()) a.layer_types.assign(a.num_hidden_layers, "full_attention");
}

// Mistral: the Llama graph with sliding_window applied to every layer (when set).
void mistral_layout(ModelArgs& a) {
  if (a.layer_types.empty()) a.layer_types.assign(a.num_hidden_layers, a.sliding_window ? "sliding_attention" : "full_attention");
}

struct Family {
  const char* model_type;
  void (*layout)(ModelArgs&);
};

constexpr Family kFamilies[] = {
    {"llama", llama_layout},
    {"mistral", mistral_layout},
};

}  // namespace

std::vector<std::string> supported_model_types() {
  std::vector<std::string> out;
  for (const Family& f : kFamilies) out.push_back(f.model_type);
  return out;
}

void resolve_model_family(ModelArgs& a, const std::string& source) {
  const Family* fam = nullptr;
  for (const Family& f : kFamilies)
    if (a.model_type == f.model_type) fam = &f;
  if (!fam) {
    std::string known;
    for (const auto& t : supported_model_types()) known += (known.empty() ? "" : ", ") + t;
    throw Error(source + ": field \"model_type\": unsupported model type \"" + a.model_type + "\" (supported: " + known + ")");
  }
  fam->layout(a);
  auto err = [&](const char* f, const std::string& why) { return Error(source + ": field \"" + f + "\": " + why); };
  if (static_cast<int>(a.layer_types.size()) != a.num_hidden_layers)
    throw err("layer_types",
              "has " + std::to_string(a.layer_types.size()) + " entries for " + std::to_string(a.num_hidden_layers) + " layers");
  for (const auto& t : a.layer_types) {
    if (t != "full_attention" && t != "sliding_attention") throw err("layer_types", "unknown layer type \"" + t + "\"");
    if (t == "sliding_attention" && !a.sliding_window) throw err("sliding_window", "needed by sliding_attention layers");
  }
}

}  // namespace cpplm
