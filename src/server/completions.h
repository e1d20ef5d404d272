// The generation endpoints (/v1/chat/completions, /v1/completions): request -> prompt tokens -> a
// job on the scheduler -> a JSON response or a stream of server-sent events.
#pragma once
#include "server/http_server.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace cpplm::server {

struct CompletionContext {
  ServedModel& served;
  Scheduler& scheduler;
  Metrics& metrics;
  const ServerOptions& opts;
  std::string fingerprint;
};

// Handles one generation request (chat when `chat`); errors become ApiError (thrown).
void handle_completion(const CompletionContext& ctx, bool chat, const httplib::Request& req, httplib::Response& res);

}  // namespace cpplm::server
