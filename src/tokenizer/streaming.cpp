// StreamingDetokenizer: the prefix-window method (as in HF text-generation-inference): decode the
// window of recent ids with and without the newest ones, emit the difference once it does not
// end in U+FFFD. Decoding a window that starts with already-emitted tokens keeps SentencePiece's
// leading-space strip and byte-fallback runs identical to a full decode.
#include "tokenizer/tokenizer_impl.h"

namespace cpplm {

namespace {

bool ends_with_replacement(const std::string& s) { return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0; }

}  // namespace

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_(skip_special_tokens) {}

void StreamingDetokenizer::reset() {
  ids_.clear();
  read_offset_ = 0;
  pending_.clear();
}

std::string StreamingDetokenizer::add(int32_t id) {
  // Skipping specials before decoding equals HF decode(skip_special_tokens=true).
  if (skip_special_ && tokenizer_.is_special(id)) return {};
  ids_.push_back(id);
  return take(/*final=*/false);
}

std::string StreamingDetokenizer::finish() {
  std::string out = take(/*final=*/true);
  reset();
  return out;
}

std::string StreamingDetokenizer::take(bool final) {
  const Tokenizer::Impl& impl = *tokenizer_.impl_;
  std::span<const int32_t> window(ids_);
  const std::string prefix = impl.decode_raw(window.first(read_offset_), /*skip_special_tokens=*/false);
  const std::string text = impl.decode_raw(window, /*skip_special_tokens=*/false);
  std::string fresh;
  if (final) {
    if (text.size() > prefix.size()) fresh = text.substr(prefix.size());
  } else if (text.size() > prefix.size() && !ends_with_replacement(text)) {
    fresh = text.substr(prefix.size());
    // The next window starts with the ids just emitted.
    ids_.erase(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(read_offset_));
    read_offset_ = ids_.size();
  }
  if (!impl.clean_up) return fresh;

  // clean_up_tokenization_spaces: only text up to a cut that no later text can affect.
  pending_ += fresh;
  if (final) {
    std::string out = tok::clean_up_tokenization(std::move(pending_));
    pending_.clear();
    return out;
  }
  for (size_t k = pending_.size(); k-- > 1;) {
    if (tok::is_clean_up_boundary(pending_, k)) {
      std::string out = tok::clean_up_tokenization(pending_.substr(0, k));
      pending_.erase(0, k);
      return out;
    }
  }
  return {};
}

}  // namespace cpplm
