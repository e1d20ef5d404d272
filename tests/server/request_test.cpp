// The OpenAI request parsers: every rejection class (status, type, param, envelope) and the mapping of every field.
#include "server/request.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace cpplm::server {
namespace {

using json = nlohmann::json;

ParseLimits limits() {
  ParseLimits l{std::string(1, 'm'), 1000, 4};  // (not l.model_id = "m": g++ 12's -Wrestrict misfires on it)
  return l;
}

// A chat body with one user message plus `extra` fields (a JSON object's inside, without braces).
std::string chat_body(const std::string& extra = "") {
  return R"({"model":"m","messages":[{"role":"user","content":"hi"}])" + (extra.empty() ? "" : "," + extra) + "}";
}
std::string completion_body(const std::string& extra = "") {
  return R"({"model":"m","prompt":"hi")" + (extra.empty() ? "" : "," + extra) + "}";
}

// The error a parse throws (fails the test when none is thrown), with its envelope checked.
ApiError error_of(const std::function<void()>& parse) {
  try {
    parse();
  } catch (const ApiError& e) {
    const json body = json::parse(error_body(e));
    EXPECT_EQ(body.size(), 1u);
    const json& err = body.at("error");
    EXPECT_EQ(err.at("message"), e.what());
    EXPECT_EQ(err.at("type"), e.type);
    EXPECT_EQ(err.at("param"), e.param.empty() ? json(nullptr) : json(e.param));
    EXPECT_EQ(err.at("code"), e.code.empty() ? json(nullptr) : json(e.code));
    return e;
  }
  ADD_FAILURE() << "no ApiError";
  return ApiError(0, "");
}
ApiError chat_error(const std::string& body) {
  return error_of([&] { parse_chat_request(body, limits()); });
}
ApiError completion_error(const std::string& body) {
  return error_of([&] { parse_completion_request(body, limits()); });
}

// A 400 invalid_request_error naming `param`, whose message contains `text`.
void expect_400(const ApiError& e, const std::string& param, const std::string& text = "") {
  EXPECT_EQ(e.status, 400) << e.what();
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.param, param) << e.what();
  EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
}

TEST(Request, BadJson) {
  for (const char* body : {"", "{", "{\"messages\":}", "[1,", "{} x", "nul"}) expect_400(chat_error(body), "", "invalid JSON");
  expect_400(completion_error("{'prompt':'x'}"), "", "invalid JSON");
}

TEST(Request, InvalidUtf8InAStringIsBadJson) {
  const std::string body = chat_body().replace(chat_body().find("hi"), 2, "h\xff");
  const ApiError e = chat_error(body);
  expect_400(e, "", "invalid JSON");
  EXPECT_NO_THROW(json::parse(error_body(e)));  // the quoted byte is replaced, the envelope stays valid
}

TEST(Request, NotAnObject) {
  for (const char* body : {"[]", "\"x\"", "1", "null", "true"}) {
    expect_400(chat_error(body), "", "must be a JSON object");
    expect_400(completion_error(body), "", "must be a JSON object");
  }
}

TEST(Request, WrongTypes) {
  expect_400(chat_error(chat_body(R"("temperature":"1")")), "temperature", "temperature must be a number");
  expect_400(chat_error(chat_body(R"("top_p":[1])")), "top_p", "must be a number");
  expect_400(chat_error(chat_body(R"("top_k":1.5)")), "top_k", "must be an integer");
  expect_400(chat_error(chat_body(R"("max_tokens":5.0)")), "max_tokens", "must be an integer");
  expect_400(chat_error(chat_body(R"("max_tokens":"5")")), "max_tokens", "must be an integer");
  expect_400(chat_error(chat_body(R"("stream":1)")), "stream", "must be a boolean");
  expect_400(chat_error(chat_body(R"("seed":"1")")), "seed", "must be an integer");
  expect_400(chat_error(chat_body(R"("user":5)")), "user", "must be a string");
  expect_400(chat_error(chat_body(R"("logit_bias":[1])")), "logit_bias", "must be an object");
  expect_400(chat_error(chat_body(R"("stop":5)")), "stop", "string or an array");
  expect_400(chat_error(chat_body(R"("logprobs":1)")), "logprobs", "must be a boolean");
  expect_400(chat_error(R"({"model":7,"messages":[{"role":"user","content":"x"}]})"), "model", "must be a string");
  expect_400(chat_error(R"({"messages":{"role":"user"}})"), "messages", "must be an array");
  expect_400(chat_error(R"({"messages":["hi"]})"), "messages[0]", "must be an object");
  expect_400(chat_error(R"({"messages":[{"role":"user","content":5}]})"), "messages[0].content", "string or an array");
  expect_400(chat_error(R"({"messages":[{"role":"user","content":"x","name":1}]})"), "messages[0].name", "string");
  expect_400(completion_error(completion_body(R"("logprobs":true)")), "logprobs", "must be an integer");
  expect_400(completion_error(R"({"prompt":{"a":1}})"), "prompt", "must be an array");
}

TEST(Request, Roles) {
  expect_400(chat_error(R"({"messages":[{"role":"user","content":"a"},{"role":"robot","content":"b"}]})"), "messages[1].role",
             "'robot'");
  expect_400(chat_error(R"({"messages":[{"role":"tool","content":"b","tool_call_id":"x"}]})"), "messages[0].tool_call_id",
             "not supported");
  expect_400(chat_error(R"({"messages":[{"role":"tool","content":"b"}]})"), "messages[0].role", "not supported");
  expect_400(chat_error(R"({"messages":[{"role":"function","content":"b"}]})"), "messages[0].role", "not supported");
  expect_400(chat_error(R"({"messages":[{"content":"b"}]})"), "messages[0].role", "required");
  expect_400(chat_error(R"({"messages":[{"role":"assistant","tool_calls":[{"id":"1"}]}]})"), "messages[0].tool_calls",
             "not supported");
  expect_400(chat_error(R"({"messages":[{"role":"user","content":"a","extra":1}]})"), "messages[0].extra", "unrecognized");
  const GenerationRequest r =
      parse_chat_request(R"({"messages":[{"role":"developer","content":"d"},{"role":"system","content":"s","name":"n"},)"
                         R"({"role":"user","content":"u"},{"role":"assistant","content":"","tool_calls":null}]})",
                         limits());
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[0].content, "d");
  EXPECT_EQ(r.messages[1].role, "system");
  EXPECT_EQ(r.messages[2].role, "user");
  EXPECT_EQ(r.messages[3].role, "assistant");
  EXPECT_EQ(r.messages[3].content, "");
}

TEST(Request, MessagesRequiredAndNonEmpty) {
  expect_400(chat_error(R"({"model":"m"})"), "messages", "required");
  expect_400(chat_error(R"({"messages":null})"), "messages", "required");
  expect_400(chat_error(R"({"messages":[]})"), "messages", "at least one");
  expect_400(chat_error(R"({"messages":[{"role":"assistant"}]})"), "messages[0].content", "required");
  expect_400(chat_error(R"({"messages":[{"role":"assistant","content":null}]})"), "messages[0].content", "required");
}

TEST(Request, ContentParts) {
  const GenerationRequest r = parse_chat_request(
      R"({"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]})", limits());
  EXPECT_EQ(r.messages[0].content, "a\nb");
  expect_400(chat_error(R"({"messages":[{"role":"user","content":[{"type":"text","text":"a"},)"
                        R"({"type":"image_url","image_url":{"url":"x"}}]}]})"),
             "messages[0].content[1].type", "'image_url' is not supported");
  expect_400(chat_error(R"({"messages":[{"role":"user","content":[]}]})"), "messages[0].content", "at least one");
  expect_400(chat_error(R"({"messages":[{"role":"user","content":["a"]}]})"), "messages[0].content[0]", "must be an object");
  expect_400(chat_error(R"({"messages":[{"role":"user","content":[{"text":"a"}]}]})"), "messages[0].content[0].type", "required");
  expect_400(chat_error(R"({"messages":[{"role":"user","content":[{"type":"text"}]}]})"), "messages[0].content[0].text",
             "required");
  expect_400(chat_error(R"({"messages":[{"role":"user","content":[{"type":"text","text":3}]}]})"), "messages[0].content[0].text",
             "must be a string");
}

TEST(Request, NegativeAndAbsurdNumbers) {
  expect_400(chat_error(chat_body(R"("max_tokens":-1)")), "max_tokens", "[1, 1000000]");
  expect_400(chat_error(chat_body(R"("max_tokens":0)")), "max_tokens");
  expect_400(chat_error(chat_body(R"("max_tokens":1000001)")), "max_tokens");
  expect_400(chat_error(chat_body(R"("max_tokens":18446744073709551615)")), "max_tokens");
  expect_400(chat_error(chat_body(R"("max_tokens":99999999999999999999999)")), "max_tokens", "must be an integer");
  expect_400(chat_error(chat_body(R"("n":-9223372036854775808)")), "n");
  expect_400(chat_error(chat_body(R"("temperature":1e300)")), "temperature");
  expect_400(chat_error(chat_body(R"("temperature":-1e-300)")), "temperature");
  expect_400(chat_error(chat_body(R"("temperature":1e400)")), "", "invalid JSON");  // overflows at parse
  expect_400(chat_error(chat_body(R"("top_k":-2)")), "top_k");
  expect_400(chat_error(chat_body(R"("top_k":4294967296)")), "top_k");
}

TEST(Request, Ranges) {
  struct Case {
    const char* field;
    const char* bad_value;
    const char* good_value;
  };
  for (const Case& c : std::initializer_list<Case>{{"temperature", "2.01", "2"},
                                                   {"temperature", "-0.1", "0"},
                                                   {"top_p", "0", "1"},
                                                   {"top_p", "1.01", "0.01"},
                                                   {"top_k", "-2", "-1"},
                                                   {"min_p", "-0.1", "0"},
                                                   {"min_p", "1.1", "1"},
                                                   {"repetition_penalty", "0", "10"},
                                                   {"repetition_penalty", "10.5", "0.5"},
                                                   {"presence_penalty", "-2.1", "-2"},
                                                   {"presence_penalty", "2.1", "2"},
                                                   {"frequency_penalty", "-3", "-2"},
                                                   {"frequency_penalty", "2.5", "2"},
                                                   {"max_tokens", "0", "1000000"},
                                                   {"n", "0", "4"},
                                                   {"n", "5", "1"},
                                                   {"seed", "1.5", "-1"}}) {
    SCOPED_TRACE(c.field);
    const std::string field = std::string("\"") + c.field + "\":";
    expect_400(chat_error(chat_body(field + c.bad_value)), c.field);
    expect_400(completion_error(completion_body(field + c.bad_value)), c.field);
    EXPECT_NO_THROW(parse_chat_request(chat_body(field + c.good_value), limits()));
    EXPECT_NO_THROW(parse_completion_request(completion_body(field + c.good_value), limits()));
  }
  expect_400(chat_error(chat_body(R"("max_completion_tokens":0)")), "max_completion_tokens");
  expect_400(chat_error(chat_body(R"("top_logprobs":21,"logprobs":true)")), "top_logprobs");
  expect_400(completion_error(completion_body(R"("logprobs":6)")), "logprobs");
  expect_400(completion_error(completion_body(R"("logprobs":-1)")), "logprobs");
}

TEST(Request, LogitBias) {
  expect_400(chat_error(chat_body(R"("logit_bias":{"99999":1})")), "logit_bias.99999", "[0, 1000)");
  expect_400(chat_error(chat_body(R"("logit_bias":{"1000":1})")), "logit_bias.1000");
  expect_400(chat_error(chat_body(R"("logit_bias":{"-1":1})")), "logit_bias.-1");
  expect_400(chat_error(chat_body(R"("logit_bias":{"a":1})")), "logit_bias.a");
  expect_400(chat_error(chat_body(R"("logit_bias":{"":1})")), "logit_bias.");
  expect_400(chat_error(chat_body(R"("logit_bias":{" 5":1})")), "logit_bias. 5");
  expect_400(chat_error(chat_body(R"("logit_bias":{"99999999999999999999":1})")), "logit_bias.99999999999999999999");
  expect_400(chat_error(chat_body(R"("logit_bias":{"5":101})")), "logit_bias.5", "[-100, 100]");
  expect_400(chat_error(chat_body(R"("logit_bias":{"5":"1"})")), "logit_bias.5", "must be a number");
  ParseLimits any = limits();
  any.vocab_size = 0;  // unknown vocabulary: any id accepted
  EXPECT_EQ(parse_chat_request(chat_body(R"("logit_bias":{"99999":1})"), any).sampling.logit_bias.size(), 1u);
}

TEST(Request, UnknownField) {
  expect_400(chat_error(chat_body(R"("temprature":1)")), "temprature", "unrecognized request argument: temprature");
  expect_400(chat_error(chat_body(R"("prompt":"x")")), "prompt", "unrecognized");
  expect_400(chat_error(chat_body(R"("echo":false)")), "echo", "unrecognized");
  expect_400(completion_error(completion_body(R"("messages":[])")), "messages", "unrecognized");
  expect_400(completion_error(completion_body(R"("max_completion_tokens":5)")), "max_completion_tokens", "unrecognized");
  expect_400(completion_error(completion_body(R"("top_logprobs":5)")), "top_logprobs", "unrecognized");
}

TEST(Request, UnsupportedFields) {
  for (const char* f :
       {R"("tools":[{"type":"function","function":{"name":"f"}}])", R"("tool_choice":"auto")", R"("functions":[{"name":"f"}])",
        R"("function_call":"auto")", R"("audio":{"voice":"x"})", R"("modalities":["text","audio"])",
        R"("prediction":{"type":"content","content":"x"})", R"("web_search_options":{})", R"("reasoning_effort":"low")"}) {
    const std::string field = std::string(f).substr(1, std::string(f).find('"', 1) - 1);
    expect_400(chat_error(chat_body(f)), field, field + " is not supported by this server");
  }
  expect_400(chat_error(chat_body(R"("store":true)")), "store", "not supported");
  expect_400(chat_error(chat_body(R"("service_tier":"flex")")), "service_tier", "not supported");
  expect_400(chat_error(chat_body(R"("response_format":{"type":"json_object"})")), "response_format.type",
             "'json_object' is not supported");
  expect_400(chat_error(chat_body(R"("response_format":{})")), "response_format.type", "required");
  expect_400(chat_error(chat_body(R"("response_format":"text")")), "response_format", "must be an object");
  expect_400(chat_error(chat_body(R"("metadata":"x")")), "metadata", "must be an object");
  expect_400(completion_error(completion_body(R"("echo":true)")), "echo", "echo is not supported");
  expect_400(completion_error(completion_body(R"("suffix":"x")")), "suffix", "not supported");
  expect_400(completion_error(completion_body(R"("best_of":3,"n":2)")), "best_of", "best_of");
  // Accepted and ignored: they change nothing here.
  EXPECT_NO_THROW(parse_chat_request(chat_body(R"("tools":[],"tool_choice":"none","functions":null,"store":false,)"
                                               R"("metadata":{"k":"v"},"service_tier":"auto","parallel_tool_calls":true,)"
                                               R"("response_format":{"type":"text"},"modalities":["text"],"user":"u")"),
                                     limits()));
  EXPECT_NO_THROW(parse_completion_request(
      completion_body(R"("echo":false,"suffix":null,"best_of":2,"n":2,"user":"u","logprobs":null)"), limits()));
}

TEST(Request, ModelMismatchIs404) {
  const ApiError e = chat_error(R"({"model":"gpt-4o","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.code, "model_not_found");
  EXPECT_EQ(e.param, "model");
  EXPECT_NE(std::string(e.what()).find("'gpt-4o'"), std::string::npos);
  EXPECT_NE(std::string(e.what()).find("'m'"), std::string::npos);
  EXPECT_EQ(completion_error(R"({"model":"x","prompt":"p"})").status, 404);
  ParseLimits any = limits();
  any.model_id = "";
  EXPECT_NO_THROW(parse_chat_request(R"({"model":"gpt-4o","messages":[{"role":"user","content":"x"}]})", any));
  EXPECT_NO_THROW(parse_chat_request(R"({"messages":[{"role":"user","content":"x"}]})", limits()));  // model optional
}

TEST(Request, StopShapes) {
  EXPECT_EQ(parse_chat_request(chat_body(R"("stop":"\n")"), limits()).stop, std::vector<std::string>{"\n"});
  EXPECT_EQ(parse_chat_request(chat_body(R"("stop":["a","bb"])"), limits()).stop, (std::vector<std::string>{"a", "bb"}));
  EXPECT_TRUE(parse_chat_request(chat_body(R"("stop":[])"), limits()).stop.empty());
  EXPECT_TRUE(parse_chat_request(chat_body(R"("stop":null)"), limits()).stop.empty());
  expect_400(chat_error(chat_body(R"("stop":"")")), "stop", "empty");
  expect_400(chat_error(chat_body(R"("stop":["a",""])")), "stop[1]", "empty");
  expect_400(chat_error(chat_body(R"("stop":["a",3])")), "stop[1]", "must be a string");
  std::string many = R"("stop":[)";
  for (int i = 0; i < 17; ++i) many += std::string(i ? "," : "") + "\"s" + std::to_string(i) + "\"";
  expect_400(chat_error(chat_body(many + "]")), "stop", "at most 16");
}

TEST(Request, N) {
  EXPECT_EQ(parse_chat_request(chat_body(R"("n":4)"), limits()).n, 4);
  EXPECT_EQ(parse_chat_request(chat_body(), limits()).n, 1);
  expect_400(chat_error(chat_body(R"("n":5)")), "n", "[1, 4]");
}

TEST(Request, LogprobsCombinations) {
  GenerationRequest r = parse_chat_request(chat_body(R"("logprobs":true,"top_logprobs":20)"), limits());
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 20);
  r = parse_chat_request(chat_body(R"("logprobs":true)"), limits());
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 0);
  EXPECT_FALSE(parse_chat_request(chat_body(R"("logprobs":false)"), limits()).logprobs);
  expect_400(chat_error(chat_body(R"("top_logprobs":2)")), "top_logprobs", "requires logprobs");
  expect_400(chat_error(chat_body(R"("logprobs":false,"top_logprobs":0)")), "top_logprobs", "requires logprobs");
  r = parse_completion_request(completion_body(R"("logprobs":3)"), limits());
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 3);
  r = parse_completion_request(completion_body(R"("logprobs":0)"), limits());
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 0);
  EXPECT_FALSE(parse_completion_request(completion_body(), limits()).logprobs);
}

TEST(Request, PromptShapes) {
  auto prompt = [](const std::string& p) { return parse_completion_request(R"({"prompt":)" + p + "}", limits()); };
  EXPECT_EQ(prompt(R"("abc")").prompt_text, "abc");
  EXPECT_EQ(prompt(R"("")").prompt_text, "");  // the server adds BOS
  EXPECT_EQ(prompt(R"(["abc"])").prompt_text, "abc");
  GenerationRequest r = prompt("[1,2,999]");
  EXPECT_FALSE(r.prompt_text);
  EXPECT_EQ(r.prompt_tokens, (std::vector<int32_t>{1, 2, 999}));
  EXPECT_EQ(prompt("[[0,5]]").prompt_tokens, (std::vector<int32_t>{0, 5}));
  auto err = [](const std::string& p) { return completion_error(R"({"prompt":)" + p + "}"); };
  expect_400(err(R"(["a","b"])"), "prompt", "several prompts in one request are not supported");
  expect_400(err("[[1],[2]]"), "prompt", "several prompts");
  expect_400(err("[]"), "prompt", "empty");
  expect_400(err("[[]]"), "prompt[0]", "empty");
  expect_400(err("[1000]"), "prompt[0]", "[0, 999]");
  expect_400(err("[1,-1]"), "prompt[1]", "[0, 999]");
  expect_400(err("[[1,1000]]"), "prompt[0][1]");
  expect_400(err("[1,\"a\"]"), "prompt[1]", "token ids");
  expect_400(err("[1,2.5]"), "prompt[1]", "integer");
  expect_400(err("[[\"a\"]]"), "prompt[0][0]");
  expect_400(err("5"), "prompt", "must be an array");
  expect_400(completion_error("{}"), "prompt", "required");
  expect_400(completion_error(R"({"prompt":null})"), "prompt", "required");
  ParseLimits any = limits();
  any.vocab_size = 0;
  EXPECT_EQ(parse_completion_request(R"({"prompt":[123456]})", any).prompt_tokens[0], 123456);
}

TEST(Request, TokenizeAndDetokenize) {
  TokenizeRequest t = parse_tokenize_request(R"({"content":"hello"})");
  EXPECT_EQ(t.content, "hello");
  EXPECT_TRUE(t.add_special);
  EXPECT_FALSE(parse_tokenize_request(R"({"content":"","add_special":false})").add_special);
  expect_400(error_of([] { parse_tokenize_request("{}"); }), "content", "required");
  expect_400(error_of([] { parse_tokenize_request(R"({"content":1})"); }), "content", "must be a string");
  expect_400(error_of([] { parse_tokenize_request(R"({"content":"a","add_special":"yes"})"); }), "add_special");
  expect_400(error_of([] { parse_tokenize_request(R"({"content":"a","x":1})"); }), "x", "unrecognized");
  expect_400(error_of([] { parse_tokenize_request("["); }), "", "invalid JSON");
  EXPECT_EQ(parse_detokenize_request(R"({"tokens":[1,2,3]})", 10), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_TRUE(parse_detokenize_request(R"({"tokens":[]})", 10).empty());
  expect_400(error_of([] { parse_detokenize_request(R"({"tokens":[1,10]})", 10); }), "tokens[1]", "[0, 9]");
  expect_400(error_of([] { parse_detokenize_request(R"({"tokens":[-1]})", 10); }), "tokens[0]");
  expect_400(error_of([] { parse_detokenize_request(R"({"tokens":"1"})", 10); }), "tokens", "must be an array");
  expect_400(error_of([] { parse_detokenize_request("{}", 10); }), "tokens", "required");
  expect_400(error_of([] { parse_detokenize_request("[]", 10); }), "", "JSON object");
}

TEST(Request, ChatMapsEveryField) {
  const GenerationRequest r = parse_chat_request(
      chat_body(R"("max_tokens":7,"max_completion_tokens":9,"temperature":0.5,"top_p":0.9,"top_k":40,"min_p":0.05,)"
                R"("repetition_penalty":1.1,"presence_penalty":0.5,"frequency_penalty":-0.25,"logit_bias":{"3":-100,"7":2.5},)"
                R"("seed":-1,"n":2,"stop":["x"],"stream":true,"stream_options":{"include_usage":true},"user":"u",)"
                R"("logprobs":true,"top_logprobs":4)"),
      limits());
  EXPECT_TRUE(r.chat);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].role, "user");
  EXPECT_EQ(r.messages[0].content, "hi");
  EXPECT_EQ(r.max_tokens, 9);  // max_completion_tokens wins
  EXPECT_FLOAT_EQ(r.sampling.temp, 0.5f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.sampling.top_k, 40);
  EXPECT_FLOAT_EQ(r.sampling.min_p, 0.05f);
  EXPECT_FLOAT_EQ(r.sampling.repetition_penalty, 1.1f);
  EXPECT_FLOAT_EQ(r.sampling.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(r.sampling.frequency_penalty, -0.25f);
  EXPECT_EQ(r.sampling.logit_bias, (std::vector<std::pair<int32_t, float>>{{3, -100.0f}, {7, 2.5f}}));
  EXPECT_EQ(r.seed, UINT64_MAX);  // -1 cast to uint64
  EXPECT_EQ(r.n, 2);
  EXPECT_EQ(r.stop, std::vector<std::string>{"x"});
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.user, "u");
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 4);
  EXPECT_EQ(parse_chat_request(chat_body(R"("max_tokens":7)"), limits()).max_tokens, 7);
  EXPECT_EQ(parse_chat_request(chat_body(R"("top_k":-1)"), limits()).sampling.top_k, 0);
}

TEST(Request, Defaults) {
  const GenerationRequest r = parse_chat_request(chat_body(), limits());
  EXPECT_FALSE(r.max_tokens);
  EXPECT_FLOAT_EQ(r.sampling.temp, 1.0f);  // OpenAI's default, not greedy
  EXPECT_FLOAT_EQ(r.sampling.top_p, 1.0f);
  EXPECT_EQ(r.sampling.top_k, 0);
  EXPECT_FLOAT_EQ(r.sampling.presence_penalty, 0.0f);
  EXPECT_TRUE(r.sampling.logit_bias.empty());
  EXPECT_FALSE(r.seed);
  EXPECT_FALSE(r.stream);
  EXPECT_FALSE(r.include_usage);
  EXPECT_FALSE(r.logprobs);
  const GenerationRequest n = parse_chat_request(chat_body(R"("temperature":null,"max_tokens":null,"seed":null)"), limits());
  EXPECT_FLOAT_EQ(n.sampling.temp, 1.0f);
  EXPECT_FALSE(n.max_tokens);
  EXPECT_FALSE(n.seed);
}

TEST(Request, CompletionMapsFields) {
  const GenerationRequest r = parse_completion_request(
      completion_body(R"("max_tokens":3,"temperature":0,"seed":18446744073709551615,"stream":true,"logit_bias":{"1":1})"),
      limits());
  EXPECT_FALSE(r.chat);
  EXPECT_EQ(r.prompt_text, "hi");
  EXPECT_EQ(r.max_tokens, 3);
  EXPECT_FLOAT_EQ(r.sampling.temp, 0.0f);
  EXPECT_EQ(r.seed, UINT64_MAX);
  EXPECT_TRUE(r.stream);
  EXPECT_EQ(r.sampling.logit_bias.size(), 1u);
}

TEST(Request, StreamOptions) {
  expect_400(chat_error(chat_body(R"("stream_options":{"include_usage":true})")), "stream_options", "stream is true");
  expect_400(chat_error(chat_body(R"("stream":false,"stream_options":{"include_usage":true})")), "stream_options");
  expect_400(chat_error(chat_body(R"("stream":true,"stream_options":{"other":true})")), "stream_options.other");
  expect_400(chat_error(chat_body(R"("stream":true,"stream_options":{"include_usage":1})")), "stream_options.include_usage");
  expect_400(chat_error(chat_body(R"("stream":true,"stream_options":[])")), "stream_options", "must be an object");
  EXPECT_FALSE(parse_chat_request(chat_body(R"("stream":true,"stream_options":{})"), limits()).include_usage);
  EXPECT_FALSE(parse_chat_request(chat_body(R"("stream_options":null)"), limits()).include_usage);
}

TEST(Request, ErrorTypesAndEnvelope) {
  EXPECT_EQ(error_type(400), "invalid_request_error");
  EXPECT_EQ(error_type(404), "invalid_request_error");
  EXPECT_EQ(error_type(405), "invalid_request_error");
  EXPECT_EQ(error_type(408), "invalid_request_error");
  EXPECT_EQ(error_type(413), "invalid_request_error");
  EXPECT_EQ(error_type(401), "authentication_error");
  EXPECT_EQ(error_type(429), "rate_limit_error");
  EXPECT_EQ(error_type(500), "server_error");
  EXPECT_EQ(error_type(503), "server_error");
  const json body = json::parse(error_body(ApiError(429, "slow \"down\"", "", "rate_limit_exceeded")));
  EXPECT_EQ(body["error"]["message"], "slow \"down\"");
  EXPECT_EQ(body["error"]["type"], "rate_limit_error");
  EXPECT_TRUE(body["error"]["param"].is_null());
  EXPECT_EQ(body["error"]["code"], "rate_limit_exceeded");
  EXPECT_NO_THROW(json::parse(error_body(ApiError(400, "bad \xff byte", "x\xfe"))));
}

}  // namespace
}  // namespace cpplm::server
