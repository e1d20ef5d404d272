// `cpplm serve`'s HTTP side: OpenAI's endpoints over the scheduler, with authentication, limits,
// timeouts, server-sent events and the Prometheus metrics. cpp-httplib (Debian's libcpp-httplib)
// runs a pool of worker threads: each request holds one while it waits on its job.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "server/scheduler.h"

namespace httplib {
class Server;
}

namespace cpplm::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                   // 0: any free port (bind() says which)
  std::string api_key;               // "": no authentication
  size_t max_body_bytes = 8u << 20;  // larger request bodies get 413
  int read_timeout_s = 30;           // a silent client is dropped after this
  int write_timeout_s = 30;          // a client that stops reading is dropped after this
  int completion_max_tokens = 16;    // /v1/completions without max_tokens (OpenAI's default)
  SchedulerOptions scheduler;
  std::function<void(const std::string&)> log;  // one line per request, and the server's notices
};

class HttpServer {
 public:
  HttpServer(ServedModel& served, const ServerOptions& opts);
  ~HttpServer();
  // Binds the listening socket; returns the port. Throws Error when it cannot.
  int bind();
  // Serves until stop(); returns then.
  void run();
  // From any thread: stops admitting requests, lets running ones finish for up to `grace_ms`,
  // cancels the rest, then stops listening (run() returns).
  void stop(int grace_ms);
  std::string url() const;
  Metrics& metrics() { return metrics_; }
  Scheduler& scheduler() { return *scheduler_; }

 private:
  void routes();
  ServedModel& served_;
  ServerOptions opts_;
  Metrics metrics_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
};

}  // namespace cpplm::server
