// The OpenAI wire format of `cpplm serve`: parsing and validating request bodies into the server's
// requests, and the OpenAI error envelope. Pure functions of the body text (no model, no HTTP), so
// the fuzzer and the unit tests drive them directly.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sampling/sampler.h"

namespace cpplm::server {

// An error the client caused (or a refusal): the HTTP status and OpenAI's envelope
// {"error": {"message", "type", "param", "code"}}.
struct ApiError : std::runtime_error {
  ApiError(int status, std::string message, std::string param = "", std::string code = "");
  int status;
  std::string type;   // from the status: "invalid_request_error", "authentication_error", ...
  std::string param;  // the request field at fault ("" = null), e.g. "messages[1].role"
  std::string code;   // "" = null; e.g. "model_not_found", "context_length_exceeded"
};
// The envelope as JSON text.
std::string error_body(const ApiError& e);
// The envelope's "type" for a status (400/404/405/413: "invalid_request_error", 401:
// "authentication_error", 429: "rate_limit_error" (OpenAI's requests_exceeded), 503/500: "server_error").
std::string error_type(int status);

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant" ("developer" is taken as "system")
  std::string content;
};

// What the server knows when it parses (limits that depend on the model).
struct ParseLimits {
  std::string model_id;  // the served model's id: another "model" gives 404 model_not_found
  int vocab_size = 0;    // logit_bias keys and token prompts must be below it
  int max_n = 16;        // "n" at most
};

// A chat or text completion, validated. Sampling fields are mapped to SamplingParams (temperature ->
// temp, seed absent -> a random seed chosen by the server: `seed` stays empty here).
struct GenerationRequest {
  bool chat = false;
  std::vector<ChatMessage> messages;       // chat
  std::optional<std::string> prompt_text;  // completion: a string (or a one-string array)
  std::vector<int32_t> prompt_tokens;      // completion: token ids (when prompt_text is empty)
  std::optional<int> max_tokens;           // max_tokens / max_completion_tokens; empty: the default
  SamplingParams sampling;                 // temperature default 1 (OpenAI's), top_p 1, ...
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;  // up to 16 non-empty strings
  int n = 1;
  bool logprobs = false;  // chat: logprobs; completions: logprobs given (>= 0)
  int top_logprobs = 0;   // chat: top_logprobs (0..20); completions: the logprobs number (0..5)
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::string user;
};

// Parse and validate a POST /v1/chat/completions or /v1/completions body. Throws ApiError (400 for
// bad JSON, wrong types, out-of-range numbers, unknown roles, empty messages, unknown or
// unsupported fields, naming the field in `param` and the message; 404 model_not_found for another
// model's name). Never throws anything else.
GenerationRequest parse_chat_request(std::string_view body, const ParseLimits& limits);
GenerationRequest parse_completion_request(std::string_view body, const ParseLimits& limits);

// POST /tokenize {"content": string, "add_special": bool = true} and POST /detokenize
// {"tokens": [int...]} (llama-server's fields). Throw ApiError like the above.
struct TokenizeRequest {
  std::string content;
  bool add_special = true;
};
TokenizeRequest parse_tokenize_request(std::string_view body);
std::vector<int32_t> parse_detokenize_request(std::string_view body, int vocab_size);

}  // namespace cpplm::server
