// libFuzzer target: arbitrary bytes as request bodies through the four `cpplm serve` parsers; only ApiError may escape.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "server/request.h"

namespace {

// Every rejection must still produce a valid envelope.
void check_envelope(const cpplm::server::ApiError& e) {
  if (!nlohmann::json::accept(cpplm::server::error_body(e))) __builtin_trap();
}

template <typename F>
void run(F&& parse) {
  try {
    parse();
  } catch (const cpplm::server::ApiError& e) {
    check_envelope(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  cpplm::server::ParseLimits limits;
  limits.model_id = "m";
  limits.vocab_size = 1000;
  run([&] { cpplm::server::parse_chat_request(body, limits); });
  run([&] { cpplm::server::parse_completion_request(body, limits); });
  run([&] { cpplm::server::parse_tokenize_request(body); });
  run([&] { cpplm::server::parse_detokenize_request(body, limits.vocab_size); });
  return 0;
}
