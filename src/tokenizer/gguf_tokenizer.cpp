// Tokenizer::from_gguf: llama.cpp's tokenizer metadata mapped onto the tokenizer.json stages (byte-level BPE for
// "gpt2", SentencePiece BPE with byte fallback for "llama"), as llama.cpp's llama-vocab.cpp tokenizes them.
#include "tokenizer/gguf_tokenizer.h"

#include <algorithm>
#include <unordered_map>

#include "core/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace cpplm {
namespace {

using nlohmann::json;

// llama-vocab.cpp (the BPE tokenizer's regex_exprs) per LLAMA_VOCAB_PRE_TYPE, applied one after the other
// (each splits the pieces the previous left, keeping the matches: HF Split "Isolated").
struct PreTokenizerSpec {
  const char* names[3];
  std::vector<const char*> regexes;
  bool ignore_merges;  // llama-vocab.cpp: tokenizer_ignore_merges (Llama 3)
};

const std::vector<PreTokenizerSpec>& pre_specs() {
  static const std::vector<PreTokenizerSpec> specs = {
      {{"llama-bpe", "llama3", "llama-v3"},
       {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
        "\\s+(?!\\S)|\\s+"},
       true},
      {{"default", "", ""},
       {"[\\p{P}\\$\\+<=>\\^~\\|]+", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)", "\\p{N}+",
        "[0-9][0-9][0-9]"},
       false},
      {{"gpt-2", "phi-2", "roberta-bpe"},
       {"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"},
       false},
  };
  return specs;
}

const PreTokenizerSpec& find_pre(const std::string& pre, const std::string& where) {
  for (const PreTokenizerSpec& s : pre_specs())
    for (const char* n : s.names)
      if (pre == n) return s;
  std::string known;
  for (const std::string& n : gguf_pre_tokenizers()) known += (known.empty() ? "" : ", ") + n;
  throw Error(where + ": key \"tokenizer.ggml.pre\": pre-tokenizer \"" + pre + "\" is not supported (supported: " + known + ")");
}

json byte_level_pre_tokenizer(const PreTokenizerSpec& spec) {
  json seq = json::array();
  for (const char* r : spec.regexes)
    seq.push_back({{"type", "Split"}, {"pattern", {{"Regex", r}}}, {"behavior", "Isolated"}, {"invert", false}});
  seq.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}});
  return {{"type", "Sequence"}, {"pretokenizers", seq}};
}

void check_id(const GgufVocab& v, const std::optional<int32_t>& id, const char* key) {
  if (id && (*id < 0 || static_cast<size_t>(*id) >= v.tokens.size()))
    throw Error(v.source + ": key \"" + key + "\": token id " + std::to_string(*id) + " is outside the vocabulary of " +
                std::to_string(v.tokens.size()));
}

}  // namespace

std::vector<std::string> gguf_pre_tokenizers() {
  std::vector<std::string> out;
  for (const PreTokenizerSpec& s : pre_specs())
    for (const char* n : s.names)
      if (*n) out.push_back(n);
  return out;
}

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufVocab& v) {
  const std::string& where = v.source;
  if (v.tokens.empty()) throw Error(where + ": key \"tokenizer.ggml.tokens\": missing or empty");
  if (!v.token_types.empty() && v.token_types.size() != v.tokens.size())
    throw Error(where + ": key \"tokenizer.ggml.token_type\": " + std::to_string(v.token_types.size()) + " entries for " +
                std::to_string(v.tokens.size()) + " tokens");
  check_id(v, v.bos_id, "tokenizer.ggml.bos_token_id");
  check_id(v, v.eos_id, "tokenizer.ggml.eos_token_id");
  check_id(v, v.eot_id, "tokenizer.ggml.eot_token_id");
  check_id(v, v.eom_id, "tokenizer.ggml.eom_token_id");
  check_id(v, v.unk_id, "tokenizer.ggml.unknown_token_id");
  auto impl = std::make_unique<Impl>();
  impl->source = where;
  std::vector<std::pair<std::string_view, int64_t>> vocab;
  vocab.reserve(v.tokens.size());
  for (size_t id = 0; id < v.tokens.size(); ++id) vocab.emplace_back(v.tokens[id], static_cast<int64_t>(id));
  const bool spm = v.model == "llama";
  bool add_bos = v.add_bos.value_or(spm), add_eos = v.add_eos.value_or(false);
  tok::BpeOptions o;
  if (v.model == "gpt2") {
    const PreTokenizerSpec& pre = find_pre(v.pre.empty() ? "default" : v.pre, where);
    std::vector<std::pair<std::string_view, std::string_view>> merges;
    merges.reserve(v.merges.size());
    for (std::string_view m : v.merges) {
      const size_t sp = m.find(' ', 1);  // a byte-level token never holds a space
      if (sp == std::string_view::npos)
        throw Error(where + ": key \"tokenizer.ggml.merges\": entry \"" + std::string(m) + "\" is not two tokens");
      merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
    }
    o.ignore_merges = pre.ignore_merges;
    impl->model = std::make_unique<tok::Bpe>(vocab, merges, std::move(o), where);
    impl->pre_tokenizer = tok::make_pre_tokenizer(byte_level_pre_tokenizer(pre), where);
    impl->decoder = tok::make_decoder(
        {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}, where);
  } else if (spm) {
    if (v.scores.size() != v.tokens.size())
      throw Error(where + ": key \"tokenizer.ggml.scores\": " + std::to_string(v.scores.size()) + " entries for " +
                  std::to_string(v.tokens.size()) + " tokens");
    if (v.unk_id) o.unk_token = std::string(v.tokens[*v.unk_id]);
    o.fuse_unk = true;
    o.byte_fallback = true;
    const auto merges = tok::generate_merges(v.tokens, v.scores, /*by_score=*/true);
    impl->model = std::make_unique<tok::Bpe>(vocab, merges, std::move(o), where);
    // llama.cpp's SentencePiece tokenizer (llm_tokenizer_spm): spaces become "▁" and the text gets
    // a leading "▁" (add_space_prefix).
    const bool prefix = v.add_space_prefix.value_or(true);
    json norm = {{"type", "Sequence"}, {"normalizers", json::array()}};
    if (prefix) norm["normalizers"].push_back({{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}});
    norm["normalizers"].push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}});
    impl->normalizer = tok::make_normalizer(norm, where);
    impl->decoder = tok::make_sentencepiece_decoder(/*strip_leading_space=*/prefix);
    impl->sp_dummy_prefix = prefix;
  } else {
    throw Error(where + ": key \"tokenizer.ggml.model\": tokenizer \"" + v.model +
                "\" is not supported (supported: gpt2, llama)");
  }
  // Control, unknown and user-defined tokens are matched in the text before the model runs (HF added tokens).
  for (size_t id = 0; id < v.token_types.size(); ++id) {
    const int32_t type = v.token_types[id];
    if (type != 2 && type != 3 && type != 4) continue;
    if (v.tokens[id].empty()) continue;
    tok::AddedToken t;
    t.id = static_cast<int32_t>(id);
    t.content = std::string(v.tokens[id]);
    t.special = type != 4;
    t.normalized = false;
    impl->added.add(std::move(t));
  }
  impl->added.build(impl->normalizer.get());
  std::vector<int32_t> before, after;
  if (add_bos && v.bos_id) before.push_back(*v.bos_id);
  if (add_eos && v.eos_id) after.push_back(*v.eos_id);
  if (!before.empty() || !after.empty()) impl->post_processor = tok::make_template(before, after);
  if (v.bos_id) {
    impl->bos_id = *v.bos_id;
    impl->bos_token = std::string(v.tokens[*v.bos_id]);
  }
  if (v.eos_id) impl->eos_token = std::string(v.tokens[*v.eos_id]);
  for (const auto& e : {v.eos_id, v.eot_id, v.eom_id})
    if (e && std::find(impl->eos_ids.begin(), impl->eos_ids.end(), *e) == impl->eos_ids.end()) impl->eos_ids.push_back(*e);
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
}

}  // namespace cpplm
