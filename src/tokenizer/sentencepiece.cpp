// tokenizer.model (SentencePiece BPE) → the same pipeline transformers' LlamaConverter writes to
// tokenizer.json: BPE with merges derived from the piece scores, byte fallback, Metaspace.
#include <sentencepiece_processor.h>

#include <algorithm>
#include <unordered_map>

#include "core/error.h"
#include "core/file_io.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace cpplm::tok {

namespace {

// The few ModelProto fields libsentencepiece's public API does not expose
// (sentencepiece_model.proto: trainer_spec.model_type, normalizer_spec, piece types).
struct ProtoInfo {
  int model_type = 1;  // UNIGRAM
  bool add_dummy_prefix = true;
  std::string normalizer_name;
  std::vector<int> piece_types;  // 1 NORMAL, 2 UNKNOWN, 3 CONTROL, 4 USER_DEFINED, 5 UNUSED, 6 BYTE
};

class ProtoReader {
 public:
  ProtoReader(std::string_view data, const std::string& where) : d_(data), where_(where) {}
  bool done() const { return p_ >= d_.size(); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= d_.size()) fail();
      unsigned char b = static_cast<unsigned char>(d_[p_++]);
      v |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail();
  }
  // Reads a field header; returns the field number and sets wire type.
  uint32_t field(int& wire) {
    uint64_t key = varint();
    wire = static_cast<int>(key & 7);
    return static_cast<uint32_t>(key >> 3);
  }
  std::string_view bytes() {
    uint64_t n = varint();
    if (n > d_.size() - p_) fail();
    std::string_view v = d_.substr(p_, n);
    p_ += n;
    return v;
  }
  void skip(int wire) {
    switch (wire) {
      case 0: varint(); break;
      case 1: advance(8); break;
      case 2: bytes(); break;
      case 5: advance(4); break;
      default: fail();
    }
  }

 private:
  void advance(size_t n) {
    if (n > d_.size() - p_) fail();
    p_ += n;
  }
  [[noreturn]] void fail() { throw Error(where_ + ": not a valid SentencePiece model (bad protobuf)"); }
  std::string_view d_;
  std::string where_;
  size_t p_ = 0;
};

ProtoInfo read_proto_info(std::string_view data, const std::string& where) {
  ProtoInfo info;
  ProtoReader r(data, where);
  int wire;
  while (!r.done()) {
    uint32_t f = r.field(wire);
    if (wire == 2 && (f == 1 || f == 2 || f == 3)) {
      ProtoReader sub(r.bytes(), where);
      int type = 1;
      while (!sub.done()) {
        int w;
        uint32_t g = sub.field(w);
        if (f == 1 && g == 3 && w == 0) type = static_cast<int>(sub.varint());
        else if (f == 2 && g == 3 && w == 0) info.model_type = static_cast<int>(sub.varint());
        else if (f == 3 && g == 3 && w == 0) info.add_dummy_prefix = sub.varint() != 0;
        else if (f == 3 && g == 1 && w == 2) info.normalizer_name = std::string(sub.bytes());
        else sub.skip(w);
      }
      if (f == 1) info.piece_types.push_back(type);
    } else {
      r.skip(wire);
    }
  }
  return info;
}

}  // namespace

// transformers convert_slow_tokenizer.py generate_merges: every split of every piece into two
// pieces of the vocab. transformers 5 ranks them by the merged piece's id (then the left part's
// length); SentencePiece itself merges by the merged piece's score (by_score).
std::vector<std::pair<std::string_view, std::string_view>> generate_merges(const std::vector<std::string_view>& pieces,
                                                                           const std::vector<float>& scores, bool by_score) {
  std::unordered_map<std::string_view, int32_t> vocab;
  for (size_t k = 0; k < pieces.size(); ++k) vocab.emplace(pieces[k], static_cast<int32_t>(k));
  struct Merge {
    std::string_view left, right;
    int32_t merged;
    size_t left_chars;
  };
  std::vector<Merge> merges;
  for (size_t k = 0; k < pieces.size(); ++k) {
    const std::string_view p = pieces[k];
    size_t chars = 1;
    for (size_t cut = utf8_len_at(p, 0); cut < p.size(); cut += utf8_len_at(p, cut), ++chars)
      if (vocab.count(p.substr(0, cut)) && vocab.count(p.substr(cut)))
        merges.push_back({p.substr(0, cut), p.substr(cut), static_cast<int32_t>(k), chars});
  }
  std::stable_sort(merges.begin(), merges.end(), [&](const Merge& a, const Merge& b) {
    if (by_score && scores[a.merged] != scores[b.merged]) return scores[a.merged] > scores[b.merged];
    if (a.merged != b.merged) return a.merged < b.merged;
    return a.left_chars < b.left_chars;
  });
  std::vector<std::pair<std::string_view, std::string_view>> out;
  out.reserve(merges.size());
  for (const Merge& m : merges) out.emplace_back(m.left, m.right);
  return out;
}

namespace {

struct LoadedModel {
  sentencepiece::SentencePieceProcessor sp;
  ProtoInfo info;
  std::vector<std::string> pieces;
  std::vector<float> scores;
};

void load_model(const std::string& path, LoadedModel& m) {
  const std::string data = read_file(path);
  if (auto st = m.sp.LoadFromSerializedProto(data); !st.ok())
    throw Error(path + ": cannot load SentencePiece model: " + st.ToString());
  m.info = read_proto_info(data, path);
  if (m.info.model_type != 2) {
    throw Error(path + ": SentencePiece model type " + std::to_string(m.info.model_type) +
                " is not supported (only BPE, type 2)");
  }
  if (!m.info.normalizer_name.empty() && m.info.normalizer_name != "identity") {
    throw Error(path + ": SentencePiece normalizer '" + m.info.normalizer_name + "' is not supported (only identity)");
  }
  const int n = m.sp.GetPieceSize();
  m.pieces.resize(n);
  m.scores.resize(n);
  for (int id = 0; id < n; ++id) {
    m.pieces[id] = m.sp.IdToPiece(id);
    m.scores[id] = m.sp.GetScore(id);
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> sentencepiece_merges(const std::string& path, bool by_score) {
  LoadedModel m;
  load_model(path, m);
  const std::vector<std::string_view> views(m.pieces.begin(), m.pieces.end());
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [l, r] : generate_merges(views, m.scores, by_score)) out.emplace_back(l, r);
  return out;
}

std::unique_ptr<Tokenizer::Impl> load_sentencepiece(const std::string& path, bool native) {
  LoadedModel m;
  load_model(path, m);
  const sentencepiece::SentencePieceProcessor& sp = m.sp;
  const ProtoInfo& info = m.info;
  const std::vector<std::string>& pieces = m.pieces;
  const int n = static_cast<int>(pieces.size());
  std::vector<std::pair<std::string_view, int64_t>> vocab;
  vocab.reserve(n);
  for (int id = 0; id < n; ++id) vocab.emplace_back(pieces[id], id);
  auto impl = std::make_unique<Tokenizer::Impl>();
  impl->source = path;
  BpeOptions o;
  if (sp.unk_id() >= 0) o.unk_token = pieces[sp.unk_id()];
  o.fuse_unk = true;
  o.byte_fallback = true;
  const std::vector<std::string_view> views(pieces.begin(), pieces.end());
  impl->model = std::make_unique<Bpe>(vocab, generate_merges(views, m.scores, /*by_score=*/native), std::move(o), path);
  for (int id = 0; id < n; ++id) {
    int type = static_cast<size_t>(id) < info.piece_types.size() ? info.piece_types[id] : 1;
    if (!sp.IsControl(id) && !sp.IsUnknown(id) && type != 4) continue;
    AddedToken t;
    t.id = id;
    t.content = pieces[id];
    t.special = type != 4;  // user-defined pieces are plain added tokens
    t.normalized = false;
    impl->added.add(std::move(t));
  }
  impl->added.build(nullptr);
  impl->sp_dummy_prefix = info.add_dummy_prefix;
  if (native) {
    // SentencePiece: spaces become "▁" and every segment gets a leading "▁" (add_dummy_prefix),
    // the normalizer form of transformers 4 Llama tokenizer.json files.
    nlohmann::json norm = {{"type", "Sequence"}, {"normalizers", nlohmann::json::array()}};
    if (info.add_dummy_prefix) norm["normalizers"].push_back({{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}});
    norm["normalizers"].push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}});
    impl->normalizer = make_normalizer(norm, path);
  } else {
    impl->pre_tokenizer = make_metaspace("\xE2\x96\x81", info.add_dummy_prefix ? "always" : "never");
  }
  impl->decoder = make_sentencepiece_decoder(/*strip_leading_space=*/info.add_dummy_prefix);
  if (sp.bos_id() >= 0) impl->bos_id = sp.bos_id();
  if (sp.eos_id() >= 0) impl->eos_ids = {sp.eos_id()};
  return impl;
}

}  // namespace cpplm::tok
