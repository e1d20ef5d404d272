// Batching is invisible on the CPU: the bundled model's tokens do not depend on what else runs.
#include "invariance_check.h"
#include "server_util.h"

namespace cpplm {
namespace {

TEST(ServerBatching, SixtyFourRequestsGetTheirTokensFromRunningAlone) {
  auto served = test::bundled_served();
  server::SchedulerOptions o;
  o.max_concurrent = 32;  // decode batches of more rows than one exact group (exact_batch_rows)
  o.max_queue = 64;
  o.ctx_size = 1024;
  o.prefill_chunk = 64;  // long prompts take several chunks, interleaved with others' decode steps
  o.threads = 1;         // ctest runs two suites at once on two cores (BatchedDecodeRows covers threads)
  test::check_invariance(*served, o, 64, 200);
}

TEST(ServerBatching, BatchedDecodeRowsEqualSingleRows) {
  auto served = test::bundled_served();
  LanguageModel& m = *served->model;
  ASSERT_GE(m.exact_batch_rows(), 2);
  const int n = m.exact_batch_rows();
  std::vector<std::unique_ptr<SequenceState>> a, b;
  std::vector<int32_t> toks;
  for (int i = 0; i < n; ++i) {
    a.push_back(m.new_sequence(std::nullopt));
    b.push_back(m.new_sequence(std::nullopt));
    const std::vector<int32_t> prompt = {1, 100 + i, 200 + 3 * i};
    SequenceTokens in{prompt, a.back().get()}, in2{prompt, b.back().get()};
    m.forward({&in, 1}, false);
    m.forward({&in2, 1}, false);
    toks.push_back(50 + i);
  }
  std::vector<SequenceTokens> batch;
  for (int i = 0; i < n; ++i) batch.push_back({{&toks[i], 1}, a[i].get()});
  const std::vector<float> together = m.forward(batch, false);
  const size_t V = m.args().vocab_size;
  for (int i = 0; i < n; ++i) {
    SequenceTokens one{{&toks[i], 1}, b[i].get()};
    const std::vector<float> alone = m.forward({&one, 1}, false);
    ASSERT_EQ(0, std::memcmp(alone.data(), together.data() + i * V, V * sizeof(float))) << "row " << i;
  }
}

}  // namespace
}  // namespace cpplm
