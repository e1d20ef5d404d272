// The server over HTTP: each class of bad input gets its status and OpenAI's error envelope, the
// endpoints answer in OpenAI's shapes, streams are framed as server-sent events, and a client that
// goes away frees its K/V.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "server_util.h"

namespace cpplm {
namespace {

using json = nlohmann::json;

struct Case {
  const char* name;
  const char* path;
  std::string body;
  int status;
  const char* needle;  // in error.message
};

TEST(ServerHttp, BadRequestsGetStatusAndEnvelope) {
  test::TestServer srv;
  httplib::Client c = srv.client();
  const std::string big_prompt(4000, 'x');  // ~ thousands of tokens > the 1024-token context
  const Case cases[] = {
      {"bad JSON", "/v1/chat/completions", "{\"messages\": [", 400, "JSON"},
      {"not an object", "/v1/chat/completions", "[1,2]", 400, "object"},
      {"wrong type", "/v1/chat/completions", R"({"messages":[{"role":"user","content":"hi"}],"temperature":"hot"})", 400,
       "temperature"},
      {"unknown role", "/v1/chat/completions", R"({"messages":[{"role":"wizard","content":"hi"}]})", 400, "role"},
      {"empty messages", "/v1/chat/completions", R"({"messages":[]})", 400, "messages"},
      {"negative max_tokens", "/v1/chat/completions", R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":-5})", 400,
       "max_tokens"},
      {"absurd n", "/v1/chat/completions", R"({"messages":[{"role":"user","content":"hi"}],"n":100000})", 400, "n"},
      {"unsupported field", "/v1/chat/completions", R"({"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]})", 400, "tools"},
      {"invalid UTF-8", "/v1/completions", "{\"prompt\":\"a\xff\xfe b\"}", 400, "UTF-8"},
      {"prompt too long", "/v1/completions", "{\"prompt\":\"" + big_prompt + "\",\"max_tokens\":10}", 400, "context"},
      {"unknown model", "/v1/chat/completions", R"({"model":"gpt-9","messages":[{"role":"user","content":"hi"}]})", 404, "gpt-9"},
      {"token out of vocabulary", "/v1/completions", R"({"prompt":[1,2,99999999]})", 400, "prompt"},
      {"bad detokenize", "/detokenize", R"({"tokens":"abc"})", 400, "tokens"},
  };
  for (const Case& k : cases) {
    auto r = c.Post(k.path, k.body, "application/json");
    ASSERT_TRUE(r) << k.name;
    EXPECT_EQ(r->status, k.status) << k.name << ": " << r->body;
    const std::string msg = test::envelope_message(r->body);
    EXPECT_NE(msg.find(k.needle), std::string::npos) << k.name << ": " << msg;
  }
  // Unknown endpoint 404, wrong method 405, oversized body 413: the envelope too.
  auto r404 = c.Get("/v1/nothing");
  ASSERT_TRUE(r404);
  EXPECT_EQ(r404->status, 404);
  test::envelope_message(r404->body);
  auto r405 = c.Get("/v1/chat/completions");
  ASSERT_TRUE(r405);
  EXPECT_EQ(r405->status, 405);
  EXPECT_EQ(r405->get_header_value("Allow"), "POST");
  test::envelope_message(r405->body);
  const std::string huge(9u << 20, ' ');
  auto r413 = c.Post("/v1/completions", huge, "application/json");
  if (r413) {  // the server may close before the client finishes sending
    EXPECT_EQ(r413->status, 413);
    test::envelope_message(r413->body);
  }
  // curl -d without a JSON content type: form encoding, capped at 8 KiB by cpp-httplib.
  auto form = c.Post("/v1/completions", "{\"prompt\":\"" + std::string(10000, 'a') + "\"}", "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 413);
  EXPECT_NE(test::envelope_message(form->body).find("application/json"), std::string::npos);
  // The server still answers.
  auto ok = c.Get("/health");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST(ServerHttp, ApiKeyGuardsEverythingButHealth) {
  server::ServerOptions o;
  o.api_key = "sekrit";
  test::TestServer srv(o);
  httplib::Client c = srv.client();
  auto none = c.Get("/v1/models");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_NE(test::envelope_message(none->body).find("API key"), std::string::npos);
  auto wrong = c.Get("/metrics", {{"Authorization", "Bearer sekrit2"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto right = c.Get("/v1/models", {{"Authorization", "Bearer sekrit"}});
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
  EXPECT_EQ(json::parse(right->body)["data"][0]["id"], "llama-6m-kjv-fortunes");
}

TEST(ServerHttp, QueueFullGets429WithRetryAfter) {
  server::ServerOptions o;
  o.scheduler.max_concurrent = 1;
  o.scheduler.max_queue = 0;
  test::TestServer srv(o);
  // One long request holds the only slot; the next is refused at once.
  std::thread hold([&] {
    httplib::Client c = srv.client();
    c.Post("/v1/completions", R"({"prompt":"In the beginning","max_tokens":900,"temperature":0.9,"seed":1,"stop":null})", "application/json");
  });
  int status = 0;
  std::string retry;
  for (int i = 0; i < 200 && status != 429; ++i) {
    httplib::Client c = srv.client();
    auto r = c.Post("/v1/completions", R"({"prompt":"hi","max_tokens":2})", "application/json");
    if (r) status = r->status, retry = r->get_header_value("Retry-After");
    if (status == 429) test::envelope_message(r->body);
  }
  EXPECT_EQ(status, 429);
  EXPECT_FALSE(retry.empty());
  hold.join();
}

TEST(ServerHttp, StreamIsFramedAsServerSentEvents) {
  test::TestServer srv;
  httplib::Client c = srv.client();
  auto r = c.Post("/v1/chat/completions",
                  R"({"messages":[{"role":"user","content":"Who made the world?"}],"max_tokens":20,"temperature":0,
                      "stream":true,"stream_options":{"include_usage":true}})",
                  "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  std::vector<json> chunks;
  size_t pos = 0;
  bool done = false;
  while (pos < r->body.size()) {
    const size_t end = r->body.find("\n\n", pos);
    ASSERT_NE(end, std::string::npos) << "an event without its blank line";
    const std::string ev = r->body.substr(pos, end - pos);
    pos = end + 2;
    ASSERT_EQ(ev.rfind("data: ", 0), 0u) << ev;  // no event: lines
    if (ev == "data: [DONE]") {
      done = true;
      continue;
    }
    ASSERT_FALSE(done) << "data after [DONE]";
    chunks.push_back(json::parse(ev.substr(6)));
  }
  ASSERT_TRUE(done);
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks.front()["choices"][0]["delta"]["role"], "assistant");
  const json& fin = chunks[chunks.size() - 2];
  EXPECT_TRUE(fin["choices"][0]["finish_reason"].is_string());
  EXPECT_TRUE(fin["choices"][0]["delta"].empty());
  const json& usage = chunks.back();
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_GT(usage["usage"]["completion_tokens"].get<int>(), 0);
  std::string text;
  for (size_t i = 1; i + 2 < chunks.size(); ++i) text += chunks[i]["choices"][0]["delta"]["content"].get<std::string>();
  // The same request without streaming gives the same text.
  auto whole = c.Post("/v1/chat/completions",
                      R"({"messages":[{"role":"user","content":"Who made the world?"}],"max_tokens":20,"temperature":0})",
                      "application/json");
  ASSERT_TRUE(whole);
  EXPECT_EQ(json::parse(whole->body)["choices"][0]["message"]["content"], text);
}

TEST(ServerHttp, DisconnectedStreamFreesItsKv) {
  test::TestServer srv;
  {
    httplib::Client c = srv.client();
    int received = 0;
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = R"({"prompt":"In the beginning","max_tokens":1000,"temperature":0.9,"seed":3,"stream":true})";
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++received < 3; };  // hang up
    c.send(req);
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  server::Metrics::Snapshot m;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    m = srv.http().metrics().snapshot();
  } while (m.running > 0 && std::chrono::steady_clock::now() < until);
  EXPECT_EQ(m.running, 0) << "the cancelled request still runs";
  httplib::Client c = srv.client();
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("cpplm_requests_running 0"), std::string::npos);
}

TEST(ServerHttp, TokenizeRoundTripsAndConversationsReuseTheirPrefix) {
  server::ServerOptions so;
  so.scheduler.prefill_chunk = 32;  // cached K/V is reused in whole prefill chunks
  test::TestServer srv(so);
  httplib::Client c = srv.client();
  auto t = c.Post("/tokenize", R"({"content":"In the beginning God"})", "application/json");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->status, 200);
  const json ids = json::parse(t->body)["tokens"];
  auto d = c.Post("/detokenize", json{{"tokens", ids}}.dump(), "application/json");
  ASSERT_TRUE(d);
  EXPECT_NE(json::parse(d->body)["content"].get<std::string>().find("In the beginning God"), std::string::npos);
  // A conversation's second turn reuses the K/V of the first (usage.prompt_tokens_details).
  json msgs = json::array({{{"role", "system"}, {"content", "You are a wise old book that answers in verses of scripture."}},
                           {{"role", "user"}, {"content", "Who made the heavens and the earth?"}}});
  auto first = c.Post("/v1/chat/completions", json{{"messages", msgs}, {"max_tokens", 12}, {"temperature", 0}}.dump(),
                      "application/json");
  ASSERT_TRUE(first);
  const json a = json::parse(first->body);
  msgs.push_back({{"role", "assistant"}, {"content", a["choices"][0]["message"]["content"]}});
  msgs.push_back({{"role", "user"}, {"content", "And what did he make next?"}});
  auto second = c.Post("/v1/chat/completions", json{{"messages", msgs}, {"max_tokens", 12}, {"temperature", 0}}.dump(),
                       "application/json");
  ASSERT_TRUE(second);
  const json b = json::parse(second->body);
  EXPECT_GE(b["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), a["usage"]["prompt_tokens"].get<int>() / 2) << b.dump();
}

}  // namespace
}  // namespace cpplm
