// The paged K/V pool on the GPU: caches in pool blocks compute bit-identically to unpaged ones
// (prefill chunks, single-stream decode and batched decode steps; rings; 8-bit K/V), shared
// blocks are copied before they change, and the server over the GPU pool keeps every request's
// tokens through preemption and the prefix cache. Skipped with "skipped: no GPU" without a GPU.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>

#include "../server/invariance_check.h"
#include "../server/prefix_check.h"
#include "cuda_test_util.h"
#include "model/llama.h"
#include "sampling/sampler.h"

namespace cpplm {
namespace {

// Runs the same chunks, then decode() steps, then batched steps through a and b: same logits and tokens.
void expect_same(LanguageModel& m, SequenceState& a, SequenceState& b, const std::string& what) {
  const int V = m.args().vocab_size;
  int pos = 0;
  for (int n : {13, 7, 33}) {
    const std::vector<int32_t> t = prompt_tokens(n, V, 7, pos);
    const std::vector<float> la = run(m, a, t, true), lb = run(m, b, t, true);
    ASSERT_EQ(0, std::memcmp(la.data(), lb.data(), la.size() * sizeof(float))) << what << ": chunk at " << pos;
    pos += n;
  }
  Sampler sa{SamplingParams{}}, sb{SamplingParams{}};
  int32_t ta = 5, tb = 5;
  for (int i = 0; i < 9; ++i) {
    ta = m.decode(a, ta, sa);
    tb = m.decode(b, tb, sb);
    ASSERT_EQ(ta, tb) << what << ": decode step " << i;
  }
  if (m.max_decode_batch() < 2) return;
  for (int i = 0; i < 9; ++i) {
    TokenLogprobs pa, pb;
    DecodeRow rows[2];
    rows[0] = {&a, ta, &sa, &pa, 3};
    rows[1] = {&b, tb, &sb, &pb, 3};
    m.decode_batch(rows);
    ASSERT_EQ(rows[0].next, rows[1].next) << what << ": batched step " << i;
    ASSERT_EQ(pa.logprob, pb.logprob) << what << ": batched step " << i;
    ta = rows[0].next, tb = rows[1].next;
  }
  EXPECT_EQ(a.offset(), b.offset());
}

TEST(CudaPaged, CachesInPoolBlocksComputeWhatUnpagedOnesDo) {
  SKIP_WITHOUT_GPU();
  for (const char* fixture : {"llama3-gqa-bf16", "mistral-swa-f32", "llama2-mha-f32"})
    for (int kv_bits : {0, 8})
      for (std::optional<int> max_kv : {std::optional<int>(), std::optional<int>(20)}) {
        auto m = make_cuda_model(*Model::load(data_dir() + "/hf-reference/" + fixture));
        if (kv_bits == 8 && m->args().head_dim % 8 != 0) continue;
        const CacheOptions opts{max_kv, kv_bits};
        auto unpaged = m->make_sequence(opts);
        ASSERT_NE(m->enable_kv_pool(64u << 20, 5, opts), nullptr);
        auto paged = m->make_sequence(opts);
        ASSERT_NE(paged->blocks(), nullptr);
        expect_same(*m, *unpaged, *paged,
                    std::string(fixture) + " kv_bits " + std::to_string(kv_bits) + (max_kv ? " max_kv_size 20" : ""));
      }
}

TEST(CudaPaged, SharedBlocksAreCopiedBeforeTheyChange) {
  SKIP_WITHOUT_GPU();
  auto m = make_cuda_model(*Model::load(data_dir() + "/hf-reference/llama2-mha-f32"));
  const int V = m->args().vocab_size;
  auto alone = m->make_sequence({});
  KVPool* pool = m->enable_kv_pool(64u << 20, 4, {});
  auto a = m->make_sequence({}), b = m->make_sequence({});
  const std::vector<int32_t> t = prompt_tokens(16, V, 7, 0);
  run(*m, *a, t, false);
  run(*m, *alone, t, false);
  alone->trim_to(12);
  const std::vector<int32_t> shared(a->blocks()->ids().begin(), a->blocks()->ids().begin() + 3);
  for (int32_t id : shared) pool->retain(id);
  b->adopt_blocks(shared);
  a->trim_to(10);
  run(*m, *a, prompt_tokens(5, V, 3, 1), false);  // writes into the second shared block: copied first
  EXPECT_NE(a->blocks()->ids()[2], shared[2]);
  expect_same(*m, *alone, *b, "after sharing");
  a.reset();
  b.reset();
  EXPECT_EQ(pool->held_blocks(), 0);
  pool->check();
}

// Token ids only: no tokenizer, no EOS (every request runs to max_tokens).
std::unique_ptr<server::ServedModel> bundled_on_gpu() {
  auto s = std::make_unique<server::ServedModel>();
  s->model = make_cuda_model(*Model::load(models_dir() + "/llama-6m-kjv-fortunes"));
  return s;
}

TEST(CudaPaged, PreemptedRequestsGetTheirTokensFromRunningAlone) {
  SKIP_WITHOUT_GPU();
  auto served = bundled_on_gpu();
  server::SchedulerOptions o;
  o.max_concurrent = 32;
  o.ctx_size = 1024;
  o.prefill_chunk = 64;
  o.kv_block_size = 16;
  o.kv_memory = 20 * served->model->make_sequence({})->bytes_per_position() * 16;
  test::check_invariance(*served, o, 48, 200, /*max_delay_ms=*/0);
}

TEST(CudaPaged, APreemptedRequestReplaysItsTokens) {
  SKIP_WITHOUT_GPU();
  auto served = bundled_on_gpu();
  test::check_preemption_replay(*served);
}

TEST(CudaPaged, PrefixCacheSharesBlocksAndChangesNoToken) {
  SKIP_WITHOUT_GPU();
  auto served = bundled_on_gpu();
  test::check_prefix_cache(*served, {});
}

}  // namespace
}  // namespace cpplm
