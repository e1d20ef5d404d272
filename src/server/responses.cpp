// Response objects as OpenAI's API describes them (spec/openai-openapi.yaml in tests/server).
#include "server/responses.h"

namespace cpplm::server {
namespace {

using json = nlohmann::ordered_json;

json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

json object(const ResponseHeader& h, bool chunk) {
  const char* kind = h.chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion";
  return {{"id", h.id}, {"object", kind}, {"created", h.created}, {"model", h.model}, {"system_fingerprint", h.fingerprint}};
}

std::string piece(const Tokenizer& tok, int32_t id) { return tok.decode(std::span<const int32_t>(&id, 1), false); }

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

// Chat: {"content": [{token, logprob, bytes, top_logprobs}], "refusal": null}.
json chat_logprobs(const std::vector<TokenLogprobs>& lps, const Tokenizer& tok) {
  json content = json::array();
  for (const TokenLogprobs& lp : lps) {
    const std::string t = piece(tok, lp.token);
    json top = json::array();
    for (const auto& [id, v] : lp.top) {
      const std::string s = piece(tok, id);
      top.push_back({{"token", s}, {"logprob", v}, {"bytes", bytes_of(tok.token_bytes(id))}});
    }
    content.push_back({{"token", t}, {"logprob", lp.logprob}, {"bytes", bytes_of(tok.token_bytes(lp.token))}, {"top_logprobs", top}});
  }
  return {{"content", content}, {"refusal", nullptr}};
}

// Completions: {tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset}.
json completion_logprobs(const std::vector<TokenLogprobs>& lps, const Tokenizer& tok, size_t& offset) {
  json tokens = json::array(), values = json::array(), tops = json::array(), offsets = json::array();
  for (const TokenLogprobs& lp : lps) {
    const std::string t = piece(tok, lp.token);
    tokens.push_back(t);
    values.push_back(lp.logprob);
    json top = json::object();
    for (const auto& [id, v] : lp.top) top[piece(tok, id)] = v;
    tops.push_back(top);
    offsets.push_back(offset);
    offset += tok.token_bytes(lp.token).size();
  }
  return {{"text_offset", offsets}, {"token_logprobs", values}, {"tokens", tokens}, {"top_logprobs", tops}};
}

}  // namespace

std::string to_text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string full_response(const ResponseHeader& h, const std::vector<ChoiceResult>& choices, const Usage& u, bool logprobs,
                          const Tokenizer& tok) {
  json out = object(h, false);
  json list = json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceResult& c = choices[i];
    json lp = nullptr;
    size_t offset = 0;
    if (logprobs) lp = h.chat ? chat_logprobs(c.logprobs, tok) : completion_logprobs(c.logprobs, tok, offset);
    if (h.chat)
      list.push_back({{"index", i},
                      {"message", {{"role", "assistant"}, {"content", c.text}, {"refusal", nullptr}}},
                      {"logprobs", lp},
                      {"finish_reason", c.finish}});
    else
      list.push_back({{"index", i}, {"text", c.text}, {"logprobs", lp}, {"finish_reason", c.finish}});
  }
  out["choices"] = list;
  out["usage"] = usage_json(u);
  return to_text(out);
}

std::string role_chunk(const ResponseHeader& h, int choice) {
  json out = object(h, true);
  out["choices"] = json::array(
      {{{"index", choice}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr}, {"finish_reason", nullptr}}});
  return to_text(out);
}

std::string delta_chunk(const ResponseHeader& h, const ChoiceEvent& e, bool logprobs, const Tokenizer& tok, size_t& text_offset) {
  json out = object(h, true);
  json lp = nullptr;
  if (logprobs) lp = h.chat ? chat_logprobs(e.logprobs, tok) : completion_logprobs(e.logprobs, tok, text_offset);
  if (h.chat)
    out["choices"] = json::array({{{"index", e.choice}, {"delta", {{"content", e.text}}}, {"logprobs", lp}, {"finish_reason", nullptr}}});
  else
    out["choices"] = json::array({{{"index", e.choice}, {"text", e.text}, {"logprobs", lp}, {"finish_reason", nullptr}}});
  return to_text(out);
}

std::string finish_chunk(const ResponseHeader& h, int choice, const std::string& finish) {
  json out = object(h, true);
  if (h.chat)
    out["choices"] = json::array({{{"index", choice}, {"delta", json::object()}, {"logprobs", nullptr}, {"finish_reason", finish}}});
  else
    out["choices"] = json::array({{{"index", choice}, {"text", ""}, {"logprobs", nullptr}, {"finish_reason", finish}}});
  return to_text(out);
}

std::string usage_chunk(const ResponseHeader& h, const Usage& u) {
  json out = object(h, true);
  out["choices"] = json::array();
  out["usage"] = usage_json(u);
  return to_text(out);
}

}  // namespace cpplm::server
