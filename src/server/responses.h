// OpenAI response objects (chat.completion, chat.completion.chunk, text_completion) as JSON text.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/job.h"
#include "tokenizer/tokenizer.h"

namespace cpplm::server {

// What every response object of one request shares.
struct ResponseHeader {
  std::string id, model, fingerprint;
  int64_t created = 0;
  bool chat = false;
};

// One choice, accumulated from its events (non-streaming responses).
struct ChoiceResult {
  std::string text;
  std::vector<TokenLogprobs> logprobs;
  std::string finish = "length";
};

// JSON text with invalid UTF-8 replaced (U+FFFD), so a token's partial bytes never break a response.
std::string to_text(const nlohmann::ordered_json& j);

// The whole response of a non-streaming request.
std::string full_response(const ResponseHeader& h, const std::vector<ChoiceResult>& choices, const Usage& u, bool logprobs,
                          const Tokenizer& tok);
// Streaming chunks (without the "data: " framing): the assistant role of a chat choice, a content
// delta (with the logprobs of its tokens when asked; `text_offset`: the choice's completion
// logprobs offset so far, advanced), a choice's finish, and the usage chunk.
std::string role_chunk(const ResponseHeader& h, int choice);
std::string delta_chunk(const ResponseHeader& h, const ChoiceEvent& e, bool logprobs, const Tokenizer& tok, size_t& text_offset);
std::string finish_chunk(const ResponseHeader& h, int choice, const std::string& finish);
std::string usage_chunk(const ResponseHeader& h, const Usage& u);

}  // namespace cpplm::server
