// The paged K/V pool on the GPU: caches in pool blocks compute bit-identically to unpaged ones
// (prefill chunks, single-stream decode and batched decode steps; rings; 8-bit K/V), shared
// blocks are copied before they change, fixed-shape prefill chunks compute alike wherever they
// start, and the server over the GPU pool keeps every request's tokens through preemption and the
// prefix cache. Skipped with "skipped: no GPU" without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>

#include "../server/invariance_check.h"
#include "../server/prefix_check.h"
#include "api/loaded_model.h"
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

// Fixed-shape prefill (fix_prefill_rows): one 150-token prompt run in chunks of other sizes and
// starts, alone or beside another sequence's chunk in the same call, gets bit-identical last logits, and its cache the same
// batched decode steps after (their log-probabilities bit for bit), so a prompt may resume from any cached block and keep its
// tokens.
void expect_chunking_invisible(LanguageModel& m, const CacheOptions& opts, const std::string& what) {
  const int V = m.args().vocab_size;
  const std::vector<int32_t> t = prompt_tokens(150, V, 7, 3);
  const std::vector<std::vector<int>> splits = {
      {64, 64, 22}, {37, 64, 49}, {1, 64, 64, 21}, {63, 1, 2, 64, 20}, {16, 16, 64, 54}};
  std::vector<float> ref_last, ref_lp;
  std::vector<int32_t> ref_tok;
  for (size_t k = 0; k <= splits.size(); ++k) {
    // The last pattern shares each call with another sequence's chunk of 34 tokens (64 in all).
    const std::vector<int>& split = k < splits.size() ? splits[k] : std::vector<int>{30, 30, 30, 30, 30};
    auto s = m.make_sequence(opts), other = m.make_sequence(opts);
    const std::vector<int32_t> o = prompt_tokens(34, V, 5, 1);
    std::vector<float> last;
    int at = 0;
    for (int n : split) {
      if (k < splits.size()) {
        last = run(m, *s, std::span<const int32_t>(t).subspan(at, n), false);
      } else {
        const SequenceTokens in[2] = {{o, other.get()}, {std::span<const int32_t>(t).subspan(at, n), s.get()}};
        last = m.forward(in, false);
        last.erase(last.begin(), last.begin() + V);
      }
      at += n;
    }
    std::vector<float> lp;
    std::vector<int32_t> tok;
    Sampler greedy{SamplingParams{}};
    int32_t next = static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
    for (int i = 0; i < 6; ++i) {
      TokenLogprobs p;
      DecodeRow row{s.get(), next, &greedy, &p, 2};
      m.decode_batch({&row, 1});
      lp.push_back(p.logprob);
      tok.push_back(next = row.next);
    }
    if (ref_last.empty()) {
      ref_last = last, ref_lp = lp, ref_tok = tok;
      continue;
    }
    std::string name = what + ", chunks";
    for (int n : split) name.append(1, ' ').append(std::to_string(n));
    ASSERT_EQ(0, std::memcmp(last.data(), ref_last.data(), last.size() * sizeof(float))) << name << ": last logits";
    EXPECT_EQ(tok, ref_tok) << name;
    ASSERT_EQ(0, std::memcmp(lp.data(), ref_lp.data(), lp.size() * sizeof(float))) << name << ": decode log-probabilities";
  }
}

TEST(CudaPaged, FixedRowChunksComputeAlikeWhereverTheyStart) {
  SKIP_WITHOUT_GPU();
  for (const char* fixture : {"llama3-gqa-bf16", "llama2-mha-f32", "bias-headdim-f16", "mistral-swa-f32"})
    for (int kv_bits : {0, 8})
      for (bool paged : {false, true}) {
        auto m = make_cuda_model(*Model::load(data_dir() + "/hf-reference/" + fixture));
        if (kv_bits == 8 && m->args().head_dim % 8 != 0) continue;
        const CacheOptions opts{std::nullopt, kv_bits};
        if (paged) {
          ASSERT_NE(m->enable_kv_pool(64u << 20, 16, opts), nullptr);
        }
        const bool fixed = m->fix_prefill_rows(64, opts);
        const std::string what = std::string(fixture) + " kv_bits " + std::to_string(kv_bits) + (paged ? " paged" : "");
        if (std::string(fixture) == "mistral-swa-f32") {
          EXPECT_FALSE(fixed) << what << ": sliding windows read keys by the chunk's start";
          continue;
        }
        ASSERT_TRUE(fixed) << what;
        expect_chunking_invisible(*m, opts, what);
      }
  EXPECT_FALSE(make_cuda_model(*Model::load(data_dir() + "/hf-reference/llama3-gqa-bf16"))->fix_prefill_rows(64, {20, 0}))
      << "rings are not fixed-shape";
}

// The same on two layers of the Llama-3.1-8B shape (cuBLAS's kernels for its GEMMs) in bf16; mlx q4
// (GEMMs over dequantized slices) is not fixed-shape.
TEST(CudaPaged, FixedRowChunksComputeAlikeOnThe8BShape) {
  SKIP_WITHOUT_GPU();
  const std::string cfg = ::testing::TempDir() + "/cpplm-8b-2layers.json";
  {
    std::ofstream f(cfg);
    f << R"({"model_type":"llama","hidden_size":4096,"num_hidden_layers":2,"intermediate_size":14336,
      "num_attention_heads":32,"num_key_value_heads":8,"head_dim":128,"vocab_size":128256,"rms_norm_eps":1e-5,
      "rope_theta":500000.0,"max_position_embeddings":131072,"tie_word_embeddings":false})";
  }
  for (const char* dtype : {"bf16", "q4"})
    for (int kv_bits : {0, 8}) {
      tools::BenchSpec spec;
      spec.shape = cfg;
      spec.dtype = dtype;
      spec.device = "cuda";
      tools::LoadedModel l = tools::load_model(spec);
      const CacheOptions opts{std::nullopt, kv_bits};
      ASSERT_NE(l.lm->enable_kv_pool(256u << 20, 32, opts), nullptr);
      if (std::string(dtype) == "q4") {
        EXPECT_FALSE(l.lm->fix_prefill_rows(64, opts));
        continue;
      }
      ASSERT_TRUE(l.lm->fix_prefill_rows(64, opts));
      expect_chunking_invisible(*l.lm, opts, std::string("8B shape ") + dtype + " kv_bits " + std::to_string(kv_bits));
    }
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
