// The bundled model served in-process on a free loopback port, and small HTTP helpers.
#pragma once
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "api/model_factory.h"
#include "model/llama.h"
#include "runtime/cpu_model.h"
#include "server/http_server.h"

namespace cpplm::test {

inline std::string bundled_dir() { return std::string(CPPLM_MODELS_DIR) + "/llama-6m-kjv-fortunes"; }

inline std::unique_ptr<server::ServedModel> bundled_served() {
  auto m = std::make_unique<server::ServedModel>();
  m->model = std::make_unique<CpuModel>(Model::load(bundled_dir()));
  TextSide t = load_text_side(bundled_dir(), "");
  m->tokenizer = std::move(t.tokenizer);
  m->chat_template = std::move(t.chat_template);
  m->eos = stop_token_ids(m->tokenizer.get(), m->model->args());
  m->id = "llama-6m-kjv-fortunes";
  return m;
}

// A server on 127.0.0.1:<free port>, stopped when destroyed.
class TestServer {
 public:
  explicit TestServer(server::ServerOptions o = {}) : served_(bundled_served()) {
    o.port = 0;
    http_ = std::make_unique<server::HttpServer>(*served_, o);
    port_ = http_->bind();
    thread_ = std::thread([this] { http_->run(); });
  }
  ~TestServer() {
    http_->stop(0);
    thread_.join();
  }
  httplib::Client client(int timeout_s = 60) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(timeout_s, 0);
    return c;
  }
  int port() const { return port_; }
  server::HttpServer& http() { return *http_; }
  server::ServedModel& served() { return *served_; }

 private:
  std::unique_ptr<server::ServedModel> served_;
  std::unique_ptr<server::HttpServer> http_;
  int port_ = 0;
  std::thread thread_;
};

// The error envelope of a response: checks its shape, returns error.message.
inline std::string envelope_message(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  EXPECT_TRUE(j.is_object() && j.contains("error")) << body;
  if (!j.is_object() || !j.contains("error")) return "";
  const nlohmann::json& e = j["error"];
  EXPECT_TRUE(e["message"].is_string()) << body;
  EXPECT_TRUE(e["type"].is_string()) << body;
  EXPECT_TRUE(e.contains("param") && (e["param"].is_null() || e["param"].is_string())) << body;
  EXPECT_TRUE(e.contains("code") && (e["code"].is_null() || e["code"].is_string())) << body;
  return e["message"].is_string() ? e["message"].get<std::string>() : "";
}

}  // namespace cpplm::test
