// cpplm::Tokenizer: loading tokenizer.json, encode and decode through the pipeline.
#include "tokenizer/tokenizer.h"

#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_file.h"
#include "tokenizer/json_scan.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace cpplm {

namespace tok {

namespace {

std::unique_ptr<Bpe> make_model(const TokenizerJson& tj, const std::string& where) {
  const nlohmann::json& m = tj.doc.contains("model") ? tj.doc["model"] : nlohmann::json();
  if (!m.is_object()) throw Error(where + ": no \"model\" object");
  std::string type = m.contains("type") ? json_get<std::string>(m, "type", "", where, "model") : "BPE";
  if (type != "BPE") throw Error(where + ": unsupported model type '" + type + "' (only BPE is supported)");
  if (tj.vocab.empty()) throw Error(where + ": model.vocab is missing or empty");
  BpeOptions o;
  if (m.contains("unk_token") && !m["unk_token"].is_null())
    o.unk_token = json_get<std::string>(m, "unk_token", "", where, "model");
  o.continuing_subword_prefix = json_get<std::string>(m, "continuing_subword_prefix", "", where, "model");
  o.end_of_word_suffix = json_get<std::string>(m, "end_of_word_suffix", "", where, "model");
  o.fuse_unk = json_get<bool>(m, "fuse_unk", false, where, "model");
  o.byte_fallback = json_get<bool>(m, "byte_fallback", false, where, "model");
  o.ignore_merges = json_get<bool>(m, "ignore_merges", false, where, "model");
  return std::make_unique<Bpe>(tj.vocab, tj.merges, std::move(o), where);
}

}  // namespace

std::unique_ptr<Tokenizer::Impl> load_tokenizer_json(const std::string& path) {
  const std::string text = read_file(path);
  TokenizerJson tj = parse_tokenizer_json(text, path);
  if (!tj.doc.is_object()) throw Error(path + ": not a JSON object");
  auto impl = std::make_unique<Tokenizer::Impl>();
  impl->source = path;
  const nlohmann::json null;
  auto section = [&](const char* key) -> const nlohmann::json& { return tj.doc.contains(key) ? tj.doc[key] : null; };
  impl->normalizer = make_normalizer(section("normalizer"), path);
  impl->pre_tokenizer = make_pre_tokenizer(section("pre_tokenizer"), path);
  impl->model = make_model(tj, path);
  impl->post_processor = make_post_processor(section("post_processor"), path);
  impl->decoder = make_decoder(section("decoder"), path);
  const nlohmann::json& added = section("added_tokens");
  if (!added.is_null() && !added.is_array()) throw Error(path + ": added_tokens is not a list");
  for (const auto& a : added.is_array() ? added : nlohmann::json::array()) {
    AddedToken t;
    t.id = json_get<int32_t>(a, "id", -1, path, "added_tokens[]");
    t.content = json_get<std::string>(a, "content", "", path, "added_tokens[]");
    if (t.id < 0 || t.content.empty()) throw Error(path + ": added token " + a.dump() + " needs an id and a content");
    t.special = json_get<bool>(a, "special", false, path, "added_tokens[]");
    t.lstrip = json_get<bool>(a, "lstrip", false, path, "added_tokens[]");
    t.rstrip = json_get<bool>(a, "rstrip", false, path, "added_tokens[]");
    t.single_word = json_get<bool>(a, "single_word", false, path, "added_tokens[]");
    t.normalized = json_get<bool>(a, "normalized", !t.special, path, "added_tokens[]");
    impl->added.add(std::move(t));
  }
  impl->added.build(impl->normalizer.get());
  return impl;
}

}  // namespace tok

void Tokenizer::Impl::encode_text(std::string_view text, std::vector<int32_t>& ids) const {
  std::vector<tok::AddedVocabulary::Piece> raw, norm;
  added.split(text, /*normalized=*/false, raw);
  std::vector<std::string> pieces;
  std::string seg;
  for (const auto& p : raw) {
    if (p.id >= 0) {
      ids.push_back(p.id);
      continue;
    }
    seg.assign(text.substr(p.begin, p.end - p.begin));
    if (normalizer) normalizer->normalize(seg);
    norm.clear();
    added.split(seg, /*normalized=*/true, norm);
    for (const auto& q : norm) {
      if (q.id >= 0) {
        ids.push_back(q.id);
        continue;
      }
      if (q.end == q.begin) continue;
      pieces.clear();
      pieces.emplace_back(seg, q.begin, q.end - q.begin);
      if (pre_tokenizer) pre_tokenizer->pre_tokenize(pieces, /*first_at_start=*/p.begin == 0 && q.begin == 0);
      for (const std::string& w : pieces) model->tokenize(w, ids);
    }
  }
}

std::optional<int32_t> Tokenizer::Impl::token_to_id(std::string_view token) const {
  if (auto id = added.by_content(token)) return id;
  return model->token_to_id(token);
}

std::string Tokenizer::Impl::id_to_token(int32_t id) const {
  if (const tok::AddedToken* a = added.by_id(id)) return a->content;
  auto t = model->id_to_token(id);
  return t ? std::string(*t) : std::string();
}

std::string Tokenizer::Impl::decode_raw(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const tok::AddedToken* a = added.by_id(id)) {
      if (!(skip_special_tokens && a->special)) tokens.push_back(a->content);
    } else if (auto t = model->id_to_token(id)) {
      tokens.emplace_back(*t);
    }
  }
  std::string text;
  if (decoder) {
    decoder->decode_chain(tokens);
    for (const std::string& t : tokens) text += t;
  } else {
    for (size_t k = 0; k < tokens.size(); ++k) text += (k ? " " : "") + tokens[k];
  }
  return text;
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& dir, const TokenizerOptions& options) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw Error("tokenizer folder " + dir + " does not exist");
  const fs::path d(dir);
  nlohmann::json config;
  if (fs::exists(d / "tokenizer_config.json")) {
    config = parse_json_file((d / "tokenizer_config.json").string());
    if (!config.is_object()) throw Error((d / "tokenizer_config.json").string() + ": not a JSON object");
  }
  std::unique_ptr<Impl> impl;
  int from_sp = 0;
  const bool has_json = fs::exists(d / "tokenizer.json"), has_model = fs::exists(d / "tokenizer.model");
  if (has_json && !(has_model && options.prefer_tokenizer_model)) {
    impl = tok::load_tokenizer_json((d / "tokenizer.json").string());
  } else if (has_model) {
    impl = tok::load_sentencepiece((d / "tokenizer.model").string(), options.sentencepiece_native);
    from_sp = options.sentencepiece_native ? 2 : 1;
  } else {
    throw Error("no tokenizer.json or tokenizer.model in " + dir);
  }
  tok::apply_special_tokens(*impl, dir, config, from_sp);
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
}

std::unique_ptr<Tokenizer> Tokenizer::from_tokenizer_json(const std::string& path) {
  auto impl = tok::load_tokenizer_json(path);
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::string repaired;
  if (!tok::utf8_valid(text)) {
    repaired = tok::utf8_lossy(text);
    text = repaired;
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  impl_->encode_text(text, ids);
  if (add_special_tokens && impl_->post_processor) impl_->post_processor->process(ids);
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string text = impl_->decode_raw(ids, skip_special_tokens);
  return impl_->clean_up ? tok::clean_up_tokenization(std::move(text)) : text;
}

std::optional<int32_t> Tokenizer::bos_id() const { return impl_->bos_id; }
const std::vector<int32_t>& Tokenizer::eos_ids() const { return impl_->eos_ids; }
std::string Tokenizer::bos_token() const { return impl_->bos_token; }
std::string Tokenizer::eos_token() const { return impl_->eos_token; }
int32_t Tokenizer::vocab_size() const { return std::max(impl_->model->max_id(), impl_->added.max_id()) + 1; }
std::string Tokenizer::id_to_piece(int32_t id) const { return impl_->id_to_token(id); }
std::optional<int32_t> Tokenizer::piece_to_id(std::string_view piece) const { return impl_->token_to_id(piece); }
std::string Tokenizer::token_bytes(int32_t id) const {
  const std::string text = decode(std::span<const int32_t>(&id, 1), false);
  if (text.find("\xEF\xBF\xBD") == std::string::npos) return text;  // no U+FFFD: decoding lost nothing
  const std::string piece = impl_->id_to_token(id);
  unsigned byte = 0;
  if (piece.size() == 6 && std::sscanf(piece.c_str(), "<0x%2X>", &byte) == 1) return std::string(1, static_cast<char>(byte));
  std::string bytes;  // byte-level BPE: every character of the piece stands for one byte
  for (size_t i = 0; i < piece.size();) {
    char32_t cp;
    const size_t len = tok::utf8_decode(piece, i, cp);
    const int b = len ? tok::unicode_to_byte(cp) : -1;
    if (b < 0) return text;
    bytes.push_back(static_cast<char>(b));
    i += len;
  }
  return bytes;
}

bool Tokenizer::is_special(int32_t id) const {
  const tok::AddedToken* a = impl_->added.by_id(id);
  return a != nullptr && a->special;
}
bool Tokenizer::clean_up_tokenization_spaces() const { return impl_->clean_up; }

}  // namespace cpplm
