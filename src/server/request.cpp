// Parsing and validating OpenAI request bodies into GenerationRequest, and the error envelope.
#include "server/request.h"

#include <cstdint>
#include <limits>
#include <new>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"

namespace cpplm::server {
namespace {

using json = nlohmann::json;

// ill-formed UTF-8 replaced by U+FFFD: nlohmann's parse errors quote the offending bytes, and the
// envelope must always serialise.
std::string valid_utf8(const std::string& s) {
  return json::parse(json(s).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
}

[[noreturn]] void bad(const std::string& param, const std::string& message) { throw ApiError(400, message, param); }

// A client's string inside a message, cut so one long value cannot blow up the error.
std::string shown(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = "'";  // appended piecewise: g++ 12's -Wrestrict misfires on "'" + std::string&&
  out.append(s.substr(0, kMax));
  out.append(s.size() > kMax ? "...'" : "'");
  return out;
}

// What a value is, for "must be X, got Y" (numbers show themselves: 5.0 for an integer field).
std::string got(const json& v) { return v.is_number() ? v.dump() : std::string(v.type_name()); }

// The value of `key`, or null when absent or JSON null: OpenAI treats both as "not given".
const json* get(const json& o, const std::string& key) {
  auto it = o.find(key);
  return it == o.end() || it->is_null() ? nullptr : &*it;
}

double number(const json& v, const std::string& param, double lo, double hi, bool lo_open, const char* range) {
  if (!v.is_number()) bad(param, param + " must be a number, got " + got(v));
  const double x = v.get<double>();
  if (!((lo_open ? x > lo : x >= lo) && x <= hi)) bad(param, param + " must be in " + range + ", got " + v.dump());
  return x;
}

// Integers only (5.0 is refused), range-checked as int64 before any narrowing.
int64_t integer(const json& v, const std::string& param, int64_t lo, int64_t hi) {
  if (!v.is_number_integer()) bad(param, param + " must be an integer, got " + got(v));
  const bool too_big = v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi);
  const int64_t x = too_big ? hi : v.get<int64_t>();
  if (too_big || x < lo || x > hi)
    bad(param, param + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + v.dump());
  return x;
}

bool boolean(const json& v, const std::string& param) {
  if (!v.is_boolean()) bad(param, param + " must be a boolean, got " + got(v));
  return v.get<bool>();
}

const std::string& str(const json& v, const std::string& param) {
  if (!v.is_string()) bad(param, param + " must be a string, got " + got(v));
  return v.get_ref<const std::string&>();
}

const json& object(const json& v, const std::string& param) {
  if (!v.is_object()) bad(param, param + " must be an object, got " + got(v));
  return v;
}

const json& array(const json& v, const std::string& param) {
  if (!v.is_array()) bad(param, param + " must be an array, got " + got(v));
  return v;
}

json parse_object(std::string_view body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {
    std::string what = e.what();  // "[json.exception.parse_error.101] parse error at ..."
    if (auto p = what.find("] "); what.starts_with("[json.exception.") && p != std::string::npos) what.erase(0, p + 2);
    throw ApiError(400, "invalid JSON: " + what);
  }
  if (!j.is_object()) bad("", "the request body must be a JSON object, got " + got(j));
  return j;
}

// Refuses fields outside `known` the way OpenAI does.
void check_known(const json& j, const std::set<std::string_view>& known) {
  for (const auto& [key, value] : j.items())
    if (!known.contains(key)) bad(key, "unrecognized request argument: " + key);
}

// A token id: 0 <= id < vocab_size (any id >= 0 when the vocabulary is unknown).
int32_t token_id(const json& v, const std::string& param, int vocab_size) {
  const int64_t hi = vocab_size > 0 ? vocab_size - 1 : std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(integer(v, param, 0, hi));
}

void check_model(const json& j, const ParseLimits& limits) {
  const json* m = get(j, "model");
  if (!m) return;
  const std::string& asked = str(*m, "model");
  if (!limits.model_id.empty() && asked != limits.model_id)
    throw ApiError(404, "The model " + shown(asked) + " does not exist; this server serves " + shown(limits.model_id), "model",
                   "model_not_found");
}

// Chat message content: a string, or a non-empty array of text parts joined by newlines (as vLLM
// does). null or absent is refused: an assistant message carrying only tool calls is not supported.
std::string message_content(const json& msg, const std::string& at) {
  const json* c = get(msg, "content");
  if (!c) bad(at + ".content", at + ".content is required (tool calls are not supported by this server)");
  if (c->is_string()) return c->get<std::string>();
  if (!c->is_array()) bad(at + ".content", at + ".content must be a string or an array of content parts, got " + got(*c));
  if (c->empty()) bad(at + ".content", at + ".content must contain at least one content part");
  std::string text;
  for (size_t i = 0; i < c->size(); ++i) {
    const std::string part = at + ".content[" + std::to_string(i) + "]";
    const json& p = object((*c)[i], part);
    const json* type = get(p, "type");
    if (!type) bad(part + ".type", part + ".type is required");
    const std::string& t = str(*type, part + ".type");
    if (t != "text") bad(part + ".type", "content part type " + shown(t) + " is not supported by this server; only 'text' is");
    const json* tx = get(p, "text");
    if (!tx) bad(part + ".text", part + ".text is required");
    if (i > 0) text += '\n';
    text += str(*tx, part + ".text");
  }
  return text;
}

ChatMessage chat_message(const json& v, size_t i) {
  const std::string at = "messages[" + std::to_string(i) + "]";
  const json& msg = object(v, at);
  for (const auto& [key, value] : msg.items()) {
    if (key == "role" || key == "content") continue;
    if (key == "name") {
      str(value, at + ".name");  // accepted, ignored
    } else if (key == "tool_calls" || key == "function_call" || key == "tool_call_id") {
      if (!value.is_null() && !(value.is_array() && value.empty()))
        bad(at + "." + key, at + "." + key + " is not supported by this server (no tool calls)");
    } else if (key == "refusal" || key == "audio") {
      if (!value.is_null()) bad(at + "." + key, at + "." + key + " is not supported by this server");
    } else {
      bad(at + "." + key, "unrecognized message field: " + at + "." + key);
    }
  }
  const json* r = get(msg, "role");
  if (!r) bad(at + ".role", at + ".role is required");
  std::string role = str(*r, at + ".role");
  if (role == "tool" || role == "function")
    bad(at + ".role", at + ".role " + shown(role) + " is not supported by this server (no tool calls)");
  if (role == "developer") role = "system";
  if (role != "system" && role != "user" && role != "assistant")
    bad(at + ".role", at + ".role must be one of 'system', 'user', 'assistant', 'developer', got " + shown(role));
  return {role, message_content(msg, at)};
}

// Fields that would change the output and that this server cannot honour. null (and an empty tool
// list, tool_choice "none", text-only modalities) mean "not used" and pass.
void check_unsupported_chat(const json& j) {
  for (const char* key : {"tools", "tool_choice", "functions", "function_call", "audio", "modalities", "prediction",
                          "web_search_options", "reasoning_effort"}) {
    const json* v = get(j, key);
    if (!v) continue;
    if (v->is_array() && v->empty()) continue;
    if (std::string_view(key) == "tool_choice" && *v == "none") continue;
    if (std::string_view(key) == "modalities" && *v == json::array({"text"})) continue;
    bad(key, std::string(key) + " is not supported by this server");
  }
}

// Chat-only fields accepted because they change nothing here.
void check_ignored_chat(const json& j) {
  if (const json* v = get(j, "store"); v && boolean(*v, "store")) bad("store", "store is not supported by this server");
  if (const json* v = get(j, "metadata")) object(*v, "metadata");
  if (const json* v = get(j, "service_tier")) {
    const std::string& t = str(*v, "service_tier");
    if (t != "auto" && t != "default") bad("service_tier", "service_tier " + shown(t) + " is not supported by this server");
  }
  if (const json* v = get(j, "parallel_tool_calls")) boolean(*v, "parallel_tool_calls");  // no tools: nothing to do
  if (const json* v = get(j, "response_format")) {
    const json& rf = object(*v, "response_format");
    const json* t = get(rf, "type");
    if (!t) bad("response_format.type", "response_format.type is required");
    const std::string& type = str(*t, "response_format.type");
    if (type != "text")
      bad("response_format.type", "response_format.type " + shown(type) + " is not supported by this server; only 'text' is");
  }
}

std::vector<std::pair<int32_t, float>> logit_bias(const json& v, int vocab_size) {
  std::vector<std::pair<int32_t, float>> out;
  for (const auto& [key, value] : object(v, "logit_bias").items()) {
    const std::string param = "logit_bias." + key;
    const bool digits = !key.empty() && key.size() <= 10 && key.find_first_not_of("0123456789") == std::string::npos;
    const int64_t id = digits ? std::stoll(key) : -1;
    if (!digits || id > std::numeric_limits<int32_t>::max() || (vocab_size > 0 && id >= vocab_size))
      bad(param, "logit_bias keys must be token ids in [0, " +
                     (vocab_size > 0 ? std::to_string(vocab_size) : std::string("vocabulary size")) + "), got " + shown(key));
    out.emplace_back(static_cast<int32_t>(id), static_cast<float>(number(value, param, -100, 100, false, "[-100, 100]")));
  }
  return out;
}

std::vector<std::string> stop_strings(const json& v) {
  constexpr size_t kMaxStop = 16;
  if (v.is_string()) {
    if (v.get_ref<const std::string&>().empty()) bad("stop", "stop must not be an empty string");
    return {v.get<std::string>()};
  }
  if (!v.is_array()) bad("stop", "stop must be a string or an array of strings, got " + got(v));
  if (v.size() > kMaxStop) bad("stop", "stop may hold at most 16 strings, got " + std::to_string(v.size()));
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string param = "stop[" + std::to_string(i) + "]";
    out.push_back(str(v[i], param));
    if (out.back().empty()) bad(param, param + " must not be empty");
  }
  return out;
}

// The fields chat and completions share: sampling, n, stop, stream.
void parse_common(const json& j, const ParseLimits& limits, GenerationRequest& r) {
  SamplingParams& s = r.sampling;
  s.temp = 1.0f;  // OpenAI's default
  if (const json* v = get(j, "temperature")) s.temp = static_cast<float>(number(*v, "temperature", 0, 2, false, "[0, 2]"));
  if (const json* v = get(j, "top_p")) s.top_p = static_cast<float>(number(*v, "top_p", 0, 1, true, "(0, 1]"));
  if (const json* v = get(j, "top_k"))
    s.top_k = static_cast<int>(std::max<int64_t>(0, integer(*v, "top_k", -1, std::numeric_limits<int32_t>::max())));
  if (const json* v = get(j, "min_p")) s.min_p = static_cast<float>(number(*v, "min_p", 0, 1, false, "[0, 1]"));
  if (const json* v = get(j, "repetition_penalty"))
    s.repetition_penalty = static_cast<float>(number(*v, "repetition_penalty", 0, 10, true, "(0, 10]"));
  if (const json* v = get(j, "presence_penalty"))
    s.presence_penalty = static_cast<float>(number(*v, "presence_penalty", -2, 2, false, "[-2, 2]"));
  if (const json* v = get(j, "frequency_penalty"))
    s.frequency_penalty = static_cast<float>(number(*v, "frequency_penalty", -2, 2, false, "[-2, 2]"));
  if (const json* v = get(j, "logit_bias")) s.logit_bias = logit_bias(*v, limits.vocab_size);
  if (const json* v = get(j, "seed")) {
    if (!v->is_number_integer()) bad("seed", "seed must be an integer, got " + got(*v));
    r.seed = v->is_number_unsigned() ? v->get<uint64_t>() : static_cast<uint64_t>(v->get<int64_t>());
    s.seed = *r.seed;
  }
  if (const json* v = get(j, "max_tokens")) r.max_tokens = static_cast<int>(integer(*v, "max_tokens", 1, 1'000'000));
  if (const json* v = get(j, "n")) r.n = static_cast<int>(integer(*v, "n", 1, std::max(1, limits.max_n)));
  if (const json* v = get(j, "stop")) r.stop = stop_strings(*v);
  if (const json* v = get(j, "stream")) r.stream = boolean(*v, "stream");
  if (const json* v = get(j, "stream_options")) {
    const json& o = object(*v, "stream_options");
    if (!r.stream) bad("stream_options", "stream_options is only allowed when stream is true");
    for (const auto& [key, value] : o.items()) {
      if (key != "include_usage") bad("stream_options." + key, "unrecognized stream option: " + shown(key));
      if (!value.is_null()) r.include_usage = boolean(value, "stream_options.include_usage");
    }
  }
  if (const json* v = get(j, "user")) r.user = str(*v, "user");
  try {
    validate(s);  // the ranges above are narrower; this only guards against the two drifting apart
  } catch (const Error& e) {
    bad("", e.what());
  }
}

// Completion prompt: a string, one string in an array, token ids, or one token-id array in an array.
void parse_prompt(const json& j, int vocab_size, GenerationRequest& r) {
  const json* p = get(j, "prompt");
  if (!p) bad("prompt", "prompt is required");
  if (p->is_string()) {
    r.prompt_text = p->get<std::string>();
    return;
  }
  const json& a = array(*p, "prompt");
  if (a.empty()) bad("prompt", "prompt must not be an empty array");
  const bool several = a.size() > 1 && (a[0].is_string() || a[0].is_array());
  if (several) bad("prompt", "several prompts in one request are not supported; send one request per prompt");
  if (a[0].is_string()) {
    r.prompt_text = a[0].get<std::string>();
    return;
  }
  const json& ids = a[0].is_array() ? a[0] : a;
  const std::string at = a[0].is_array() ? "prompt[0]" : "prompt";
  if (ids.empty()) bad(at, at + " must not be an empty array");
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string param = at + "[" + std::to_string(i) + "]";
    if (!ids[i].is_number())
      bad(param, "prompt must be a string, an array of one string, or an array of token ids; " + param + " is " + got(ids[i]));
    r.prompt_tokens.push_back(token_id(ids[i], param, vocab_size));
  }
}

const std::set<std::string_view> kCommonFields = {"model",
                                                  "max_tokens",
                                                  "temperature",
                                                  "top_p",
                                                  "top_k",
                                                  "min_p",
                                                  "repetition_penalty",
                                                  "presence_penalty",
                                                  "frequency_penalty",
                                                  "logit_bias",
                                                  "seed",
                                                  "n",
                                                  "stop",
                                                  "stream",
                                                  "stream_options",
                                                  "user",
                                                  "logprobs"};

std::set<std::string_view> with_common(std::initializer_list<std::string_view> extra) {
  std::set<std::string_view> s = kCommonFields;
  s.insert(extra.begin(), extra.end());
  return s;
}

GenerationRequest chat(std::string_view body, const ParseLimits& limits) {
  static const std::set<std::string_view> kKnown =
      with_common({"messages", "max_completion_tokens", "top_logprobs", "store", "metadata", "service_tier",
                   "parallel_tool_calls", "response_format", "tools", "tool_choice", "functions", "function_call", "audio",
                   "modalities", "prediction", "web_search_options", "reasoning_effort"});
  const json j = parse_object(body);
  check_known(j, kKnown);
  check_unsupported_chat(j);
  check_model(j, limits);
  GenerationRequest r;
  r.chat = true;
  const json* m = get(j, "messages");
  if (!m) bad("messages", "messages is required");
  if (array(*m, "messages").empty()) bad("messages", "messages must contain at least one message");
  for (size_t i = 0; i < m->size(); ++i) r.messages.push_back(chat_message((*m)[i], i));
  check_ignored_chat(j);
  parse_common(j, limits, r);
  if (const json* v = get(j, "max_completion_tokens"))  // the newer name wins over max_tokens
    r.max_tokens = static_cast<int>(integer(*v, "max_completion_tokens", 1, 1'000'000));
  if (const json* v = get(j, "logprobs")) r.logprobs = boolean(*v, "logprobs");
  if (const json* v = get(j, "top_logprobs")) {
    r.top_logprobs = static_cast<int>(integer(*v, "top_logprobs", 0, 20));
    if (!r.logprobs) bad("top_logprobs", "top_logprobs requires logprobs to be true");
  }
  return r;
}

GenerationRequest completion(std::string_view body, const ParseLimits& limits) {
  static const std::set<std::string_view> kKnown = with_common({"prompt", "best_of", "echo", "suffix"});
  const json j = parse_object(body);
  check_known(j, kKnown);
  check_model(j, limits);
  GenerationRequest r;
  parse_prompt(j, limits.vocab_size, r);
  parse_common(j, limits, r);
  if (const json* v = get(j, "logprobs")) {
    r.logprobs = true;
    r.top_logprobs = static_cast<int>(integer(*v, "logprobs", 0, 5));
  }
  if (const json* v = get(j, "echo"); v && boolean(*v, "echo")) bad("echo", "echo is not supported by this server");
  if (const json* v = get(j, "suffix")) bad("suffix", "suffix is not supported by this server (got " + got(*v) + ")");
  if (const json* v = get(j, "best_of")) {
    const int64_t b = integer(*v, "best_of", 1, std::numeric_limits<int32_t>::max());
    if (b != 1 && b != r.n) bad("best_of", "best_of must be 1 or equal to n: this server returns every sequence it samples");
  }
  return r;
}

// Whatever escapes the checks above (a bug, or memory) still leaves as ApiError.
template <typename F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const ApiError&) {
    throw;
  } catch (const json::exception& e) {
    throw ApiError(400, std::string("invalid request: ") + e.what());
  } catch (const std::bad_alloc&) {
    throw ApiError(413, "the request is too large to process");
  } catch (const std::exception& e) {
    throw ApiError(500, std::string("internal error while reading the request: ") + e.what());
  }
}

}  // namespace

ApiError::ApiError(int status, std::string message, std::string param, std::string code)
    : std::runtime_error(valid_utf8(message)),
      status(status),
      type(error_type(status)),
      param(valid_utf8(param)),
      code(std::move(code)) {}

std::string error_type(int status) {
  if (status == 401) return "authentication_error";
  if (status == 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";  // 400, 404, 405, 408, 413, ...
}

std::string error_body(const ApiError& e) {
  auto or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  const json body = {
      {"error", {{"message", e.what()}, {"type", e.type}, {"param", or_null(e.param)}, {"code", or_null(e.code)}}}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

GenerationRequest parse_chat_request(std::string_view body, const ParseLimits& limits) {
  return guarded([&] { return chat(body, limits); });
}

GenerationRequest parse_completion_request(std::string_view body, const ParseLimits& limits) {
  return guarded([&] { return completion(body, limits); });
}

TokenizeRequest parse_tokenize_request(std::string_view body) {
  return guarded([&] {
    const json j = parse_object(body);
    check_known(j, {"content", "add_special", "model"});  // "model" accepted for vLLM-style clients
    if (const json* m = get(j, "model")) str(*m, "model");
    TokenizeRequest r;
    const json* c = get(j, "content");
    if (!c) bad("content", "content is required");
    r.content = str(*c, "content");
    if (const json* v = get(j, "add_special")) r.add_special = boolean(*v, "add_special");
    return r;
  });
}

std::vector<int32_t> parse_detokenize_request(std::string_view body, int vocab_size) {
  return guarded([&] {
    const json j = parse_object(body);
    check_known(j, {"tokens", "model"});
    if (const json* m = get(j, "model")) str(*m, "model");
    const json* t = get(j, "tokens");
    if (!t) bad("tokens", "tokens is required");
    std::vector<int32_t> ids;
    for (size_t i = 0; i < array(*t, "tokens").size(); ++i)
      ids.push_back(token_id((*t)[i], "tokens[" + std::to_string(i) + "]", vocab_size));
    return ids;
  });
}

}  // namespace cpplm::server
