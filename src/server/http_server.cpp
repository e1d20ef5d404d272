// HttpServer: routes, authentication, limits, errors and the small endpoints.
#include "server/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include "core/error.h"
#include "server/completions.h"
#include "server/responses.h"

namespace cpplm::server {
namespace {

using json = nlohmann::ordered_json;

// Debian's cpp-httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into the
// library): a burst of clients would overflow it and see resets. listen() again with a deep one.
class Listener : public httplib::Server {
 public:
  void deepen_backlog() { ::listen(svr_sock_, SOMAXCONN); }
};

// Compares without stopping at the first difference (the time says nothing about the key).
bool same_secret(const std::string& given, const std::string& key) {
  if (key.empty()) return false;
  unsigned diff = given.size() != key.size();
  for (size_t i = 0; i < given.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ key[i % key.size()]);
  return diff == 0;
}

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  if (e.status == 429) res.set_header("Retry-After", "1");
  if (e.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  res.set_content(error_body(e), "application/json");
}

// Runs a handler, turning ApiError and anything unexpected into the error envelope.
template <class F>
httplib::Server::Handler guarded(F f) {
  return [f](const httplib::Request& req, httplib::Response& res) {
    try {
      f(req, res);
    } catch (const ApiError& e) {
      send_error(res, e);
    } catch (const std::exception& e) {
      send_error(res, ApiError(500, std::string("internal error: ") + e.what()));
    }
  };
}

}  // namespace

HttpServer::HttpServer(ServedModel& served, const ServerOptions& opts)
    : served_(served), opts_(opts), http_(std::make_unique<Listener>()) {
  scheduler_ = std::make_unique<Scheduler>(served_, opts_.scheduler, metrics_);
  // Every waiting or streaming request holds a worker: enough for the running and queued ones, so
  // that the queue limit (429), not the pool, is what turns clients away.
  const size_t workers = std::min<size_t>(1024, opts_.scheduler.max_concurrent + opts_.scheduler.max_queue + 16);
  http_->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  http_->set_payload_max_length(opts_.max_body_bytes);
  http_->set_read_timeout(opts_.read_timeout_s, 0);
  http_->set_write_timeout(opts_.write_timeout_s, 0);
  http_->set_keep_alive_timeout(5);
  routes();
}

HttpServer::~HttpServer() { stop(0); }

int HttpServer::bind() {
  if (opts_.port == 0) {
    port_ = http_->bind_to_any_port(opts_.host);
    if (port_ <= 0) throw Error("cannot listen on " + opts_.host + " (any port)");
  } else {
    if (!http_->bind_to_port(opts_.host, opts_.port))
      throw Error("cannot listen on " + opts_.host + ":" + std::to_string(opts_.port) + " (in use, or not an address of this machine?)");
    port_ = opts_.port;
  }
  static_cast<Listener&>(*http_).deepen_backlog();
  return port_;
}

std::string HttpServer::url() const {
  const bool v6 = opts_.host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + opts_.host + "]" : opts_.host) + ":" + std::to_string(port_);
}

void HttpServer::run() { http_->listen_after_bind(); }

void HttpServer::stop(int grace_ms) {
  if (scheduler_) scheduler_->shutdown(std::chrono::milliseconds(grace_ms));
  if (http_) http_->stop();
}

void HttpServer::routes() {
  httplib::Server& s = *http_;
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (opts_.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (auth.compare(0, prefix.size(), prefix) == 0 && same_secret(auth.substr(prefix.size()), opts_.api_key))
      return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, ApiError(401, auth.empty() ? "missing API key: send Authorization: Bearer <key>" : "incorrect API key", "",
                             "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  // Errors httplib answers itself (no route, 413, bad request lines) get the envelope too.
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string msg = "request failed";
    if (res.status == 404) msg = "no such endpoint: " + req.method + " " + req.path;
    if (res.status == 413) {
      // curl -d sends form encoding, which cpp-httplib caps at 8 KiB: say what to send instead.
      const bool form = req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0;
      msg = form ? "the request body is too large for a form-encoded body; send it with Content-Type: application/json"
                 : "the request body is too large";
    }
    if (res.status == 400) msg = "malformed HTTP request";
    send_error(res, ApiError(res.status, msg));
  });
  s.set_logger([this](const httplib::Request&, const httplib::Response& res) { metrics_.request_done(res.status); });

  CompletionContext ctx{served_, *scheduler_, metrics_, opts_, std::string("fp_cpplm_") + served_.model->device().substr(0, 4)};
  s.Post("/v1/chat/completions", guarded([ctx](const auto& req, auto& res) { handle_completion(ctx, true, req, res); }));
  s.Post("/v1/completions", guarded([ctx](const auto& req, auto& res) { handle_completion(ctx, false, req, res); }));
  s.Get("/v1/models", guarded([this](const auto&, auto& res) {
    json m = {{"id", served_.id}, {"object", "model"}, {"created", 0}, {"owned_by", "cpplm"}};
    res.set_content(to_text({{"object", "list"}, {"data", json::array({m})}}), "application/json");
  }));
  s.Get(R"(/v1/models/(.+))", guarded([this](const auto& req, auto& res) {
    if (req.matches[1] != served_.id)
      throw ApiError(404, "the model '" + std::string(req.matches[1]) + "' does not exist; this server serves '" + served_.id + "'",
                     "model", "model_not_found");
    res.set_content(to_text({{"id", served_.id}, {"object", "model"}, {"created", 0}, {"owned_by", "cpplm"}}), "application/json");
  }));
  s.Get("/health", guarded([this](const auto&, auto& res) { res.set_content(R"({"status":"ok"})", "application/json"); }));
  s.Get("/metrics", guarded([this](const auto&, auto& res) { res.set_content(metrics_.text(), "text/plain; version=0.0.4"); }));
  s.Post("/tokenize", guarded([this](const auto& req, auto& res) {
    const TokenizeRequest t = parse_tokenize_request(req.body);
    res.set_content(to_text({{"tokens", served_.tokenizer->encode(t.content, t.add_special)}}), "application/json");
  }));
  s.Post("/detokenize", guarded([this](const auto& req, auto& res) {
    const std::vector<int32_t> ids = parse_detokenize_request(req.body, served_.tokenizer->vocab_size());
    res.set_content(to_text({{"content", served_.tokenizer->decode(ids, false)}}), "application/json");
  }));
  // A known path with the wrong method: 405 naming the allowed one.
  auto wrong_method = [](const char* allowed) {
    return [allowed](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Allow", allowed);
      send_error(res, ApiError(405, req.method + " is not allowed on " + req.path + " (use " + allowed + ")"));
    };
  };
  for (const char* p : {"/v1/chat/completions", "/v1/completions", "/tokenize", "/detokenize"}) {
    s.Get(p, wrong_method("POST"));
    s.Put(p, wrong_method("POST"));
    s.Delete(p, wrong_method("POST"));
  }
  for (const char* p : {"/v1/models", "/health", "/metrics"}) {
    s.Post(p, wrong_method("GET"));
    s.Put(p, wrong_method("GET"));
    s.Delete(p, wrong_method("GET"));
  }
}

}  // namespace cpplm::server
