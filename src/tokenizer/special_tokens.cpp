// BOS/EOS and other settings from tokenizer_config.json, config.json and generation_config.json,
// and transformers' clean_up_tokenization.
#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/json_file.h"
#include "tokenizer/tokenizer_impl.h"

namespace cpplm::tok {

namespace {

// A token given as "text", {"content": "text", ...} or null.
std::optional<std::string> token_string(const nlohmann::json& cfg, const char* key, const std::string& where) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  throw Error(where + ": " + key + " must be a string or an object with \"content\", got " + it->dump());
}

// eos_token_id / bos_token_id: an int, a list of ints, or null.
std::vector<int32_t> id_list(const nlohmann::json& cfg, const char* key, const std::string& where) {
  std::vector<int32_t> out;
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return out;
  auto one = [&](const nlohmann::json& v) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
      throw Error(where + ": " + key + " must be a non-negative integer or a list of them, got " + it->dump());
    }
    out.push_back(v.get<int32_t>());
  };
  if (it->is_array()) {
    for (const auto& v : *it) one(v);
  } else {
    one(*it);
  }
  return out;
}

nlohmann::json read_optional(const std::filesystem::path& p) {
  if (!std::filesystem::exists(p)) return nlohmann::json::object();
  const nlohmann::json j = parse_json_file(p.string());
  if (!j.is_object()) throw Error(p.string() + ": not a JSON object");
  return j;
}

void add_unique(std::vector<int32_t>& v, int32_t id) {
  if (std::find(v.begin(), v.end(), id) == v.end()) v.push_back(id);
}

}  // namespace

void apply_special_tokens(Tokenizer::Impl& impl, const std::string& dir, const nlohmann::json& tc, int from_sentencepiece) {
  namespace fs = std::filesystem;
  const std::string tc_path = (fs::path(dir) / "tokenizer_config.json").string();
  const nlohmann::json cfg = tc.is_object() ? tc : nlohmann::json::object();
  const nlohmann::json config = read_optional(fs::path(dir) / "config.json");
  const std::string config_path = (fs::path(dir) / "config.json").string();
  const nlohmann::json gen = read_optional(fs::path(dir) / "generation_config.json");
  const std::string gen_path = (fs::path(dir) / "generation_config.json").string();

  // Tokens declared only in tokenizer_config.json (added_tokens_decoder) are added tokens too.
  if (auto it = cfg.find("added_tokens_decoder"); it != cfg.end() && it->is_object()) {
    for (const auto& [key, a] : it->items()) {
      int32_t id;
      try {
        id = std::stoi(key);
      } catch (const std::exception&) {
        throw Error(tc_path + ": added_tokens_decoder key '" + key + "' is not an id");
      }
      if (impl.added.by_id(id) != nullptr) continue;
      AddedToken t;
      t.id = id;
      t.content = json_get<std::string>(a, "content", "", tc_path, "added_tokens_decoder");
      t.special = json_get<bool>(a, "special", false, tc_path, "added_tokens_decoder");
      t.lstrip = json_get<bool>(a, "lstrip", false, tc_path, "added_tokens_decoder");
      t.rstrip = json_get<bool>(a, "rstrip", false, tc_path, "added_tokens_decoder");
      t.single_word = json_get<bool>(a, "single_word", false, tc_path, "added_tokens_decoder");
      t.normalized = json_get<bool>(a, "normalized", !t.special, tc_path, "added_tokens_decoder");
      if (!t.content.empty()) impl.added.add(std::move(t));
    }
    impl.added.build(impl.normalizer.get());
  }

  // BOS: tokenizer_config's bos_token, else config.json / generation_config.json bos_token_id.
  std::optional<std::string> bos = token_string(cfg, "bos_token", tc_path);
  if (bos) {
    impl.bos_id = impl.token_to_id(*bos);
    if (!impl.bos_id) throw Error(tc_path + ": bos_token '" + *bos + "' is not in the vocabulary");
    impl.bos_token = *bos;
  } else if (!cfg.contains("bos_token")) {
    std::vector<int32_t> ids = id_list(config, "bos_token_id", config_path);
    if (ids.empty()) ids = id_list(gen, "bos_token_id", gen_path);
    if (ids.empty() && from_sentencepiece && impl.bos_id) ids.push_back(*impl.bos_id);
    if (!ids.empty()) {
      impl.bos_id = ids[0];
      impl.bos_token = impl.id_to_token(ids[0]);
    }
  } else {
    impl.bos_id.reset();  // explicitly null (e.g. Qwen)
  }

  // EOS: every source counts, they all stop generation.
  std::vector<int32_t> eos;
  std::optional<std::string> eos_tok = token_string(cfg, "eos_token", tc_path);
  if (eos_tok) {
    auto id = impl.token_to_id(*eos_tok);
    if (!id) throw Error(tc_path + ": eos_token '" + *eos_tok + "' is not in the vocabulary");
    add_unique(eos, *id);
    impl.eos_token = *eos_tok;
  }
  for (int32_t id : id_list(config, "eos_token_id", config_path)) add_unique(eos, id);
  for (int32_t id : id_list(gen, "eos_token_id", gen_path)) add_unique(eos, id);
  if (eos.empty()) eos = impl.eos_ids;  // SentencePiece's own eos
  impl.eos_ids = eos;
  if (impl.eos_token.empty() && !eos.empty()) impl.eos_token = impl.id_to_token(eos[0]);

  // transformers 5 LlamaTokenizer keeps vocab and merges but builds its own pipeline
  // (tokenization_llama.py): no normalizer, Metaspace without a double prefix, SentencePiece decoder.
  const std::string cls = json_get<std::string>(cfg, "tokenizer_class", "", tc_path, "tokenizer_config");
  const bool llama_class =
      cls == "LlamaTokenizer" || cls == "LlamaTokenizerFast" || cls == "CodeLlamaTokenizer" || cls == "CodeLlamaTokenizerFast";
  if (llama_class && impl.model->byte_fallback() && from_sentencepiece != 2) {  // not for byte-level files mislabelled as Llama
    const bool add_prefix_space = json_get<bool>(cfg, "add_prefix_space", true, tc_path, "tokenizer_config");
    const bool legacy = json_get<bool>(cfg, "legacy", true, tc_path, "tokenizer_config");
    const bool dummy_prefix = add_prefix_space && !(from_sentencepiece && !impl.sp_dummy_prefix);
    impl.normalizer.reset();
    impl.pre_tokenizer = make_metaspace("\xE2\x96\x81", !dummy_prefix ? "never" : legacy ? "always" : "first");
    impl.decoder = make_sentencepiece_decoder(/*strip_leading_space=*/dummy_prefix);
    impl.added.build(nullptr);
  }

  impl.clean_up = json_get<bool>(cfg, "clean_up_tokenization_spaces", false, tc_path, "tokenizer_config");

  // transformers rebuilds the single-sequence template from add_bos_token / add_eos_token.
  const bool has_add_bos = cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean();
  const bool has_add_eos = cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean();
  if (has_add_bos || has_add_eos || from_sentencepiece) {
    bool add_bos = has_add_bos ? cfg["add_bos_token"].get<bool>() : from_sentencepiece != 0;
    bool add_eos = has_add_eos && cfg["add_eos_token"].get<bool>();
    std::vector<int32_t> before, after;
    if (add_bos && impl.bos_id) before.push_back(*impl.bos_id);
    if (add_eos && eos_tok) after.push_back(*impl.token_to_id(*eos_tok));
    else if (add_eos && !eos.empty()) after.push_back(eos[0]);
    if (has_add_bos || has_add_eos || !impl.post_processor) impl.post_processor = make_template(before, after);
  }
}

std::string clean_up_tokenization(std::string text) {
  static const std::pair<const char*, const char*> kRules[] = {{" .", "."},     {" ?", "?"},     {" !", "!"},   {" ,", ","},
                                                               {" ' ", "'"},    {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"},
                                                               {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) {
    const std::string f(from);
    if (text.find(f) == std::string::npos) continue;
    std::string out;
    size_t prev = 0, pos;
    while ((pos = text.find(f, prev)) != std::string::npos) {
      out.append(text, prev, pos - prev);
      out += to;
      prev = pos + f.size();
    }
    out.append(text, prev);
    text = std::move(out);
  }
  return text;
}

bool is_clean_up_boundary(std::string_view s, size_t pos) {
  // No rule can straddle a cut between two characters when the left one is not a space and
  // not an inner character of a rule (n, ', v, r), and the right one is not a space.
  if (pos == 0 || pos >= s.size()) return false;
  char l = s[pos - 1], r = s[pos];
  return l != ' ' && l != '\'' && l != 'n' && l != 'v' && l != 'r' && r != ' ' &&
         (static_cast<unsigned char>(r) & 0xC0) != 0x80;  // and never inside a UTF-8 character
}

}  // namespace cpplm::tok
