// libFuzzer target: any bytes encoded by a real tokenizer (with and without special tokens), then
// decoded and streamed back; must never crash. Tokenizer folder: $CPPLM_FUZZ_TOKENIZER or the
// bundled model.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

#ifndef CPPLM_DEFAULT_MODEL
#define CPPLM_DEFAULT_MODEL "models/llama-6m-kjv-fortunes"
#endif

namespace {

const cpplm::Tokenizer& tokenizer() {
  static const std::unique_ptr<cpplm::Tokenizer> tok = [] {
    const char* env = std::getenv("CPPLM_FUZZ_TOKENIZER");
    const std::string dir = env != nullptr && *env != '\0' ? env : CPPLM_DEFAULT_MODEL;
    try {
      return cpplm::Tokenizer::load(dir);
    } catch (const cpplm::Error& e) {
      std::fprintf(stderr, "tokenizer_fuzz: %s\n", e.what());
      std::abort();
    }
  }();
  return *tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const cpplm::Tokenizer& tok = tokenizer();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool add_special = size > 0 && (data[0] & 1);
  const std::vector<int32_t> ids = tok.encode(text, add_special);
  const std::string decoded = tok.decode(ids, /*skip_special_tokens=*/size > 0 && (data[0] & 2));
  // Streaming must reproduce the full decode; a mismatch is a bug worth a crash report.
  cpplm::StreamingDetokenizer stream(tok, /*skip_special_tokens=*/size > 0 && (data[0] & 2));
  std::string streamed;
  for (int32_t id : ids) streamed += stream.add(id);
  streamed += stream.finish();
  if (streamed != decoded) std::abort();
  // Arbitrary ids (from the bytes) must decode without crashing too.
  std::vector<int32_t> raw;
  for (size_t k = 0; k + 4 <= size && raw.size() < 64; k += 4) {
    int32_t id;
    __builtin_memcpy(&id, data + k, 4);
    raw.push_back(id % (tok.vocab_size() + 8));
  }
  (void)tok.decode(raw, /*skip_special_tokens=*/false);
  return 0;
}
