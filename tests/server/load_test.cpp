// A bounded loopback load: 64 clients × 20 requests, streaming and not, some hanging up mid-stream.
// Every request that stays is answered correctly, nothing crashes, memory stays bounded, and
// afterwards nothing runs and every K/V byte is freed (also run under ASan+UBSan by CI).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "runtime/generate.h"
#include "server_util.h"

namespace cpplm {
namespace {

using json = nlohmann::json;

TEST(ServerLoad, SixtyFourClientsTwentyRequestsEach) {
  server::ServerOptions o;
  o.scheduler.max_concurrent = 16;
  o.scheduler.max_queue = 128;
  o.scheduler.threads = 1;  // ctest runs two suites at once on two cores
  test::TestServer srv(o);
  const size_t rss_before = current_rss_bytes();
  constexpr int kClients = 64, kRequests = 20;
  std::atomic<int> ok{0}, hung_up{0}, bad{0};
  std::mutex failures_mu;
  std::vector<std::string> failures;  // the first few, for the report
  auto fail = [&](const std::string& what) {
    ++bad;
    std::lock_guard<std::mutex> lock(failures_mu);
    if (failures.size() < 5) failures.push_back(what);
  };
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] {
      std::mt19937 rng(i);
      auto c = std::make_unique<httplib::Client>("127.0.0.1", srv.port());
      c->set_read_timeout(120, 0);
      for (int k = 0; k < kRequests; ++k) {
        const int max_tokens = 1 + static_cast<int>(rng() % 12);
        const bool stream = rng() % 2, chat = rng() % 2, hang_up = stream && rng() % 5 == 0;
        json body = {{"max_tokens", max_tokens}, {"temperature", 0.7}, {"seed", i * 100 + k}, {"stream", stream}};
        if (chat) body["messages"] = json::array({{{"role", "user"}, {"content", "Tell me about verse " + std::to_string(k)}}});
        else body["prompt"] = "And it came to pass in the " + std::to_string(i) + "th year";
        httplib::Request req;
        req.method = "POST";
        req.path = chat ? "/v1/chat/completions" : "/v1/completions";
        req.body = body.dump();
        req.set_header("Content-Type", "application/json");
        std::string got;
        int events = 0;
        req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
          got.append(d, n);
          return !(hang_up && ++events >= 2);
        };
        auto r = c->send(req);
        if (hang_up) {
          ++hung_up;
          c = std::make_unique<httplib::Client>("127.0.0.1", srv.port());  // a fresh connection after hanging up
          c->set_read_timeout(120, 0);
          continue;
        }
        if (!r || r->status != 200) {
          fail(req.body + " -> " + (r ? std::to_string(r->status) + " " + got : "no response: " + httplib::to_string(r.error())));
          continue;
        }
        if (stream) {
          const bool framed = got.find("data: [DONE]\n\n") != std::string::npos && got.find("\"finish_reason\":\"") != std::string::npos;
          framed ? void(++ok) : fail(req.body + " -> " + got);
        } else {
          const json j = json::parse(got, nullptr, false);
          const bool good = j.is_object() && j["usage"]["completion_tokens"].get<int>() <= max_tokens &&
                            j["choices"][0]["finish_reason"].is_string();
          good ? void(++ok) : fail(req.body + " -> " + got);
        }
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(bad.load(), 0);
  for (const std::string& f : failures) ADD_FAILURE() << f;
  EXPECT_EQ(ok.load() + hung_up.load(), kClients * kRequests);
  // Nothing runs, no request's K/V is held; the prefix cache stays within the budget.
  server::Metrics::Snapshot m;
  for (int i = 0; i < 500; ++i) {
    m = srv.http().metrics().snapshot();
    if (m.running == 0 && m.queued == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(m.running, 0);
  EXPECT_EQ(m.queued, 0);
  EXPECT_EQ(m.kv_bytes, 0u) << "K/V of finished requests still held";
  EXPECT_LE(m.cache_bytes, srv.http().scheduler().options().kv_memory);
  const size_t rss_after = current_rss_bytes();
  std::printf("[ load ] %d ok, %d hung up; resident memory %.1f MiB before, %.1f MiB after; K/V in use %.2f MiB, prefix cache %.2f MiB\n",
              ok.load(), hung_up.load(), rss_before / 1048576.0, rss_after / 1048576.0, m.kv_bytes / 1048576.0, m.cache_bytes / 1048576.0);
#if defined(__SANITIZE_ADDRESS__)
  // ASan holds freed blocks in its quarantine (256 MiB by default) and adds shadow memory.
  constexpr size_t kGrowth = size_t{1024} << 20;
#else
  constexpr size_t kGrowth = size_t{256} << 20;  // about 65 MiB measured on the release build
#endif
  EXPECT_LT(rss_after, rss_before + kGrowth) << "resident memory grew by more than " << (kGrowth >> 20) << " MiB";
  auto metrics = srv.client().Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("cpplm_requests_running 0"), std::string::npos);
  EXPECT_NE(metrics->body.find("cpplm_requests_queued 0"), std::string::npos);
}

}  // namespace
}  // namespace cpplm
