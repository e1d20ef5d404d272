// tools::serve: loads the model for `cpplm serve`, runs the HTTP server, stops on SIGINT/SIGTERM.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "api/loaded_model.h"
#include "api/model_factory.h"
#include "core/error.h"
#include "runtime/generate.h"
#include "server/http_server.h"

namespace cpplm::tools {

void serve(const ServeRequest& r) {
  BenchSpec spec = r.model;
  if (spec.decode_batch_rows < 0) spec.decode_batch_rows = default_decode_batch_rows(r.max_concurrent);
  server::ServedModel served;
  LoadedModel loaded = load_model(spec);
  served.model = std::move(loaded.lm);
  const std::string text_dir = r.tokenizer_dir.empty() ? spec.model_dir : r.tokenizer_dir;
  TextSide text = load_text_side(text_dir, r.chat_template);
  if (!text.tokenizer) throw Error(text_dir + ": no tokenizer.json or tokenizer.model (the server needs a tokenizer)");
  served.tokenizer = std::move(text.tokenizer);
  served.chat_template = std::move(text.chat_template);
  served.template_error = std::move(text.template_error);
  served.eos = stop_token_ids(served.tokenizer.get(), served.model->args());
  if (!spec.model_dir.empty()) {
    std::filesystem::path p(spec.model_dir);
    served.id = (p.filename().empty() ? p.parent_path() : p).filename().string();
  } else {
    served.id = spec.shape + "-" + spec.dtype + "-random";
  }

  server::ServerOptions o;
  o.host = r.host;
  o.port = r.port;
  o.api_key = r.api_key;
  o.max_body_bytes = r.max_body_bytes;
  o.read_timeout_s = o.write_timeout_s = r.timeout_s;
  o.log = r.log;
  server::SchedulerOptions& s = o.scheduler;
  s.max_concurrent = std::max(1, r.max_concurrent);
  s.max_queue = std::max(0, r.max_queue);
  const int trained = context_length(served.model->args());
  s.ctx_size = r.ctx_size > 0 ? r.ctx_size : std::min(trained > 0 ? trained : 4096, 4096);
  const std::string w =
      context_warning(served.model->args(), "--ctx-size (" + std::to_string(s.ctx_size) + " positions)", s.ctx_size);
  if (!w.empty() && r.log) r.log("warning: " + w);
  s.kv_memory = r.kv_memory;
  s.kv_bits = spec.kv_bits;
  s.prefill_chunk = r.prefill_chunk;
  s.prefill_budget = r.prefill_budget;
  s.prefix_cache = r.prefix_cache;
  s.kv_block_size = r.kv_block_size;

  // SIGINT/SIGTERM are taken by one thread (sigwait), so every thread the server starts has them blocked.
  sigset_t stop_signals, old;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
  struct Restore {
    sigset_t* old;
    ~Restore() { pthread_sigmask(SIG_SETMASK, old, nullptr); }
  } restore{&old};

  server::HttpServer http(served, o);
  http.bind();
  if (r.log) {
    char b[512];
    std::snprintf(b, sizeof b,
                  "listening on %s (model %s on %s; %d sequences at once, context %d tokens, K/V budget %zu MiB, queue %d)",
                  http.url().c_str(), served.id.c_str(), served.model->device().c_str(), s.max_concurrent, s.ctx_size,
                  http.scheduler().options().kv_memory >> 20, s.max_queue);
    r.log(b);
    if (const KVPool* pool = http.scheduler().kv_pool()) {
      std::snprintf(b, sizeof b, "paged K/V: %d blocks of %d positions; prefix cache %s", pool->total_blocks(),
                    pool->block_size(), s.prefix_cache ? "on" : "off");
      r.log(b);
    }
    if (const int rows = served.model->max_decode_batch(); rows > 0) {
      std::snprintf(b, sizeof b, "decode: batched steps of %d rows (--decode-batch-rows; every step runs all of them)", rows);
      r.log(b);
    }
  }
  if (r.on_listening) r.on_listening(http.url());
  std::atomic<bool> signalled{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (!signalled.exchange(true) && r.log)
      r.log(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ": finishing running requests, then stopping");
    http.stop(r.grace_ms);
  });
  http.run();
  if (!signalled.exchange(true)) pthread_kill(waiter.native_handle(), SIGTERM);  // run() ended on its own
  waiter.join();
  if (r.log) r.log("stopped");
}

}  // namespace cpplm::tools
