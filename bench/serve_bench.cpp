// Server throughput at 1, 8, 32 and 64 concurrent clients: requests/s, time to first token and
// generated tokens/s, measured by streaming clients over loopback against an in-process server.
//   serve_bench [--model DIR | --shape NAME --dtype bf16 --tokenizer DIR] [--device cpu|cuda]
//               [--prompt 128] [--gen 64] [--clients 1,8,32,64] [--requests-per-client 2]
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "api/loaded_model.h"
#include "api/model_factory.h"
#include "server/http_server.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Result {
  double ttft = -1;  // seconds
  int tokens = 0;
  bool ok = false;
};

Result one_request(int port, const json& body) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(600, 0);
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  Result r;
  const auto t0 = Clock::now();
  std::string buf;
  req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
    if (r.ttft < 0) r.ttft = std::chrono::duration<double>(Clock::now() - t0).count();
    buf.append(d, n);
    return true;
  };
  auto res = c.send(req);
  if (!res || res->status != 200) return r;
  const size_t u = buf.rfind("\"completion_tokens\":");
  if (u != std::string::npos) r.tokens = std::atoi(buf.c_str() + u + 20);
  r.ok = buf.find("data: [DONE]") != std::string::npos;
  return r;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
  cpplm::tools::BenchSpec spec;
  spec.model_dir = CPPLM_MODELS_DIR "/llama-6m-kjv-fortunes";
  spec.device = "cpu";
  std::string tokenizer, clients_arg = "1,8,32,64";
  int prompt = 128, gen = 64, per_client = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") spec.model_dir = v;
    else if (k == "--shape") spec.shape = v, spec.model_dir.clear();
    else if (k == "--dtype") spec.dtype = v;
    else if (k == "--device") spec.device = v;
    else if (k == "--tokenizer") tokenizer = v;
    else if (k == "--prompt") prompt = std::stoi(v);
    else if (k == "--gen") gen = std::stoi(v);
    else if (k == "--clients") clients_arg = v;
    else if (k == "--requests-per-client") per_client = std::stoi(v);
    else return std::fprintf(stderr, "serve_bench: unknown option %s\n", k.c_str()), 2;
  }
  cpplm::server::ServedModel served;
  cpplm::tools::LoadedModel loaded = cpplm::tools::load_model(spec);
  served.model = std::move(loaded.lm);
  cpplm::TextSide text = cpplm::load_text_side(tokenizer.empty() ? spec.model_dir : tokenizer, "");
  served.tokenizer = std::move(text.tokenizer);
  served.eos = cpplm::stop_token_ids(served.tokenizer.get(), served.model->args());
  served.id = "bench";
  std::vector<int> levels;
  std::stringstream ss(clients_arg);
  for (std::string x; std::getline(ss, x, ',');) levels.push_back(std::stoi(x));
  const int max_clients = *std::max_element(levels.begin(), levels.end());

  cpplm::server::ServerOptions o;
  o.port = 0;
  o.scheduler.max_concurrent = max_clients;
  o.scheduler.max_queue = max_clients;
  o.scheduler.ctx_size = prompt + gen + 8;
  o.scheduler.prefix_cache = false;  // every prompt is new anyway
  cpplm::server::HttpServer http(served, o);
  const int port = http.bind();
  std::thread server([&] { http.run(); });
  std::printf("serve_bench: %s on %s; prompt %d tokens, %d generated per request (EOS suppressed), streaming /v1/completions\n",
              loaded.name.c_str(), served.model->device().c_str(), prompt, gen);
  std::printf("| clients | requests | req/s | TTFT p50 ms | TTFT p90 ms | generated tok/s | per-request tok/s |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|\n");
  json bias = json::object();
  for (int32_t e : served.eos) bias[std::to_string(e)] = -100;
  const int vocab = served.model->args().vocab_size;
  for (int n : levels) {
    const int per = n == 1 ? std::max(per_client, 4) : per_client;
    std::vector<Result> results(static_cast<size_t>(n) * per);
    const auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < n; ++c)
      threads.emplace_back([&, c] {
        for (int k = 0; k < per; ++k) {
          json toks = json::array();
          for (int t = 0; t < prompt; ++t) toks.push_back((c * 7919 + k * 104729 + t * 31) % (vocab - 1) + 1);
          json body = {{"prompt", toks}, {"max_tokens", gen}, {"temperature", 0}, {"stream", true},
                       {"stream_options", {{"include_usage", true}}}, {"logit_bias", bias}};
          results[static_cast<size_t>(c) * per + k] = one_request(port, body);
        }
      });
    for (auto& t : threads) t.join();
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    std::vector<double> ttfts;
    long tokens = 0;
    int failed = 0;
    double per_req = 0;
    for (const Result& r : results) {
      if (!r.ok) ++failed;
      ttfts.push_back(r.ttft);
      tokens += r.tokens;
    }
    // Per-request decode rate: tokens after the first over the time after the first token.
    per_req = tokens / wall / n;
    std::printf("| %d | %zu | %.2f | %.1f | %.1f | %.1f | %.1f |", n, results.size(), results.size() / wall,
                percentile(ttfts, 0.5) * 1e3, percentile(ttfts, 0.9) * 1e3, tokens / wall, per_req);
    if (failed) std::printf(" %d failed", failed);
    std::printf("\n");
    std::fflush(stdout);
  }
  http.stop(0);
  server.join();
  return 0;
}
