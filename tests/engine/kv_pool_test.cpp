// The paged K/V pool: its bookkeeping (allocation, prefix cache, LRU eviction, copy-on-write), a
// 10,000-sequence soak that checks every block comes back and no cached block changes under a
// reader, and CPU caches in pool blocks computing exactly what unpaged caches do.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "model/kv_pool.h"
#include "model/llama.h"
#include "runtime/cpu_model.h"
#include "test_util.h"

namespace cpplm {
namespace {

TEST(KVPool, AllocatesReleasesAndEvictsLeastRecentlyUsedFirst) {
  KVPool p(4, 2);
  std::vector<int32_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(p.allocate());
  EXPECT_EQ(p.allocate(), -1) << "every block is held";
  EXPECT_EQ(p.free_blocks(), 0);
  const std::vector<int32_t> t0 = {1, 2}, t1 = {3, 4};
  p.publish(0, t0, ids[0]);
  p.publish(KVPool::name(0, t0), t1, ids[1]);
  EXPECT_EQ(p.cached_blocks(), 2);
  EXPECT_FALSE(p.writable(ids[0])) << "a cached block is copied before it is written";
  EXPECT_TRUE(p.writable(ids[2]));
  p.release(ids[1]);  // the deeper block first, as BlockTable releases: it is evicted first
  p.release(ids[0]);
  p.release(ids[2]);
  EXPECT_EQ(p.free_blocks(), 3);
  EXPECT_EQ(p.evictable_blocks(), 2);
  p.check();
  // A lookup finds the chain and holds its blocks; a wrong parent or token misses.
  EXPECT_EQ(p.lookup(0, t0), ids[0]);
  EXPECT_EQ(p.find(0, t1), -1);
  EXPECT_EQ(p.find(KVPool::name(0, t0), std::vector<int32_t>{3, 5}), -1);
  EXPECT_EQ(p.refs(ids[0]), 1);
  // Allocation takes free blocks before cached ones, then the least recently released cached one.
  EXPECT_EQ(p.allocate(), ids[2]);
  EXPECT_EQ(p.allocate(), ids[1]);
  EXPECT_EQ(p.cached_blocks(), 1);
  EXPECT_EQ(p.find(KVPool::name(0, t0), t1), -1) << "evicted";
  EXPECT_EQ(p.allocate(), -1) << "the held cached block is never evicted";
  p.check();
}

TEST(KVPool, CopyOnWriteLeavesSharedBlocksAlone) {
  KVPool p(3, 4);
  std::vector<std::vector<int>> data(3, std::vector<int>(4, 0));
  p.copy = [&](int32_t from, int32_t to) { data[to] = data[from]; };
  BlockTable a(p), b(p);
  a.ensure(1);
  data[a.ids()[0]] = {1, 2, 3, 4};
  p.retain(a.ids()[0]);
  b.adopt(a.ids());
  b.make_writable(0);
  EXPECT_NE(b.ids()[0], a.ids()[0]);
  EXPECT_EQ(data[b.ids()[0]], data[a.ids()[0]]);
  data[b.ids()[0]][3] = 9;
  EXPECT_EQ(data[a.ids()[0]][3], 4);
  EXPECT_EQ(p.refs(a.ids()[0]), 1);
  a.ensure(2);
  EXPECT_THROW(a.ensure(3), KVPoolExhausted);
  EXPECT_EQ(a.size(), 2) << "keeps what it got";
  p.check();
}

// Sequences with prompts from a few shared prefixes join, grow, publish their full blocks, take
// the cached blocks of their prefix, and finish or are cancelled at random; the newest is dropped
// when the pool runs out. Every block holds the tokens of its positions (a stand-in for K/V): a
// sequence that takes a cached block must find exactly its own tokens there.
TEST(KVPool, SoakOfTenThousandSequencesReturnsEveryBlock) {
  constexpr int kBlock = 8, kBlocks = 64;
  KVPool p(kBlocks, kBlock);
  std::vector<std::vector<int32_t>> data(kBlocks, std::vector<int32_t>(kBlock, -1));
  p.copy = [&](int32_t from, int32_t to) { data[to] = data[from]; };
  std::mt19937 rng(7);
  std::vector<std::vector<int32_t>> prefixes(4);
  for (auto& pre : prefixes)
    for (int i = 0, n = 8 + static_cast<int>(rng() % 40); i < n; ++i) pre.push_back(static_cast<int32_t>(rng() % 50));
  struct Seq {
    std::unique_ptr<BlockTable> table;
    std::vector<int32_t> tokens;
    std::vector<uint64_t> names;
    size_t len = 0, target = 0;
  };
  std::vector<Seq> running;
  int started = 0, finished = 0, cancelled = 0, dropped = 0;
  long reused = 0;
  auto publish = [&](Seq& s) {
    while (s.names.size() < s.len / kBlock) {
      const size_t i = s.names.size();
      const std::span<const int32_t> blk(s.tokens.data() + i * kBlock, kBlock);
      const uint64_t parent = i ? s.names[i - 1] : 0;
      p.publish(parent, blk, s.table->ids()[i]);
      s.names.push_back(KVPool::name(parent, blk));
    }
  };
  while (started < 10000 || !running.empty()) {
    if (started < 10000 && running.size() < 12 && rng() % 3 == 0) {
      Seq s;
      s.table = std::make_unique<BlockTable>(p);
      s.tokens = prefixes[rng() % prefixes.size()];
      for (int i = 0, n = static_cast<int>(rng() % 30); i < n; ++i) s.tokens.push_back(static_cast<int32_t>(rng() % 50));
      s.target = s.tokens.size() + rng() % 40;
      while (s.tokens.size() < s.target) s.tokens.push_back(static_cast<int32_t>(rng() % 50));
      std::vector<int32_t> ids;
      for (uint64_t parent = 0; (ids.size() + 1) * kBlock < s.tokens.size();) {
        const std::span<const int32_t> blk(s.tokens.data() + ids.size() * kBlock, kBlock);
        const int32_t id = p.lookup(parent, blk);
        if (id < 0) break;
        ASSERT_TRUE(std::equal(blk.begin(), blk.end(), data[id].begin())) << "a cached block changed";
        ids.push_back(id);
        s.names.push_back(parent = KVPool::name(parent, blk));
      }
      s.table->adopt(ids);
      s.len = ids.size() * kBlock;
      reused += static_cast<long>(s.len);
      running.push_back(std::move(s));
      ++started;
    }
    if (running.empty()) continue;
    Seq& s = running[rng() % running.size()];
    const size_t step = std::min<size_t>(1 + rng() % 6, s.target - s.len);
    try {
      s.table->ensure(static_cast<int>((s.len + step + kBlock - 1) / kBlock));
      for (size_t i = s.len; i < s.len + step; ++i) {
        s.table->make_writable(static_cast<int>(i / kBlock));
        data[s.table->ids()[i / kBlock]][i % kBlock] = s.tokens[i];
      }
      s.len += step;
      publish(s);
    } catch (const KVPoolExhausted&) {
      running.pop_back();  // the newest goes (a server would recompute it later)
      ++dropped;
      continue;
    }
    for (size_t i = 0; i < running.size(); ++i) {
      const bool done = running[i].len >= running[i].target, cancel = rng() % 3000 == 0;
      if (done || cancel) {
        (done ? finished : cancelled)++;
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
    if (started % 500 == 0) p.check();
  }
  p.check();
  EXPECT_EQ(p.held_blocks(), 0) << "blocks still held after every sequence ended";
  EXPECT_EQ(p.free_blocks(), kBlocks);
  p.drop_cached();
  EXPECT_EQ(p.cached_blocks(), 0);
  p.check();
  EXPECT_GT(reused, 0);
  EXPECT_GT(dropped, 0) << "the soak should run the pool out";
  std::printf("[ soak ] %d sequences: %d finished, %d cancelled, %d dropped; %ld positions from the prefix cache\n", started,
              finished, cancelled, dropped, reused);
}

// Runs the same token chunks through `a` and `b`; their logits must be bit-identical.
void expect_same_logits(LanguageModel& m, SequenceState& a, SequenceState& b, const std::vector<int>& chunks, int vocab,
                        const std::string& what) {
  int pos = 0;
  for (int n : chunks) {
    std::vector<int32_t> t(n);
    for (int i = 0; i < n; ++i) t[i] = (pos + i) * 7 % vocab;
    SequenceTokens ia{t, &a}, ib{t, &b};
    const std::vector<float> la = m.forward({&ia, 1}, true), lb = m.forward({&ib, 1}, true);
    ASSERT_EQ(la.size(), lb.size());
    ASSERT_EQ(0, std::memcmp(la.data(), lb.data(), la.size() * sizeof(float))) << what << " at position " << pos;
    pos += n;
  }
}

TEST(PagedKV, CachesInPoolBlocksComputeWhatUnpagedOnesDo) {
  for (const char* fixture : {"llama3-gqa-bf16", "mistral-swa-f32", "llama2-mha-f32"})
    for (int kv_bits : {0, 8})
      for (std::optional<int> max_kv : {std::optional<int>(), std::optional<int>(20)}) {
        CpuModel m(Model::load(test::fixture_dir(fixture)));
        const CacheOptions opts{max_kv, kv_bits};
        auto unpaged = m.make_sequence(opts);
        ASSERT_NE(m.enable_kv_pool(1 << 22, 5, opts), nullptr);  // 5: blocks end inside chunks and rings
        auto paged = m.make_sequence(opts);
        ASSERT_NE(paged->blocks(), nullptr);
        const std::string what = std::string(fixture) + " kv_bits " + std::to_string(kv_bits) +
                                 (max_kv ? " max_kv_size 20" : "");
        expect_same_logits(m, *unpaged, *paged, {13, 7, 1, 1, 1, 17, 1, 1}, m.args().vocab_size, what);
        EXPECT_EQ(paged->offset(), 42);
      }
}

// Sequence b takes a's first blocks and goes on; a then rewrites positions inside the shared
// blocks (copy-on-write). b computes what a sequence that ran the same chunks alone computes.
TEST(PagedKV, SharedBlocksAreCopiedBeforeTheyChange) {
  CpuModel m(Model::load(test::fixture_dir("llama2-mha-f32")));
  auto alone = m.make_sequence({});
  KVPool* pool = m.enable_kv_pool(1 << 22, 4, {});
  ASSERT_NE(pool, nullptr);
  auto a = m.make_sequence({}), b = m.make_sequence({});
  ASSERT_TRUE(a->shares_blocks());
  const int vocab = m.args().vocab_size;
  std::vector<int32_t> t(16);
  for (int i = 0; i < 16; ++i) t[i] = i * 7 % vocab;
  SequenceTokens ia{t, a.get()};
  m.forward({&ia, 1}, false);
  const std::vector<int32_t> shared(a->blocks()->ids().begin(), a->blocks()->ids().begin() + 3);
  for (int32_t id : shared) pool->retain(id);
  b->adopt_blocks(shared);
  EXPECT_EQ(b->offset(), 12);
  SequenceTokens head{t, alone.get()};  // positions 0..11 as a computed them, in one chunk of 16
  m.forward({&head, 1}, false);
  alone->trim_to(12);
  a->trim_to(10);  // into the second shared block
  std::vector<int32_t> other = {5, 6, 7, 8, 9};
  SequenceTokens io{other, a.get()};
  m.forward({&io, 1}, false);
  EXPECT_NE(a->blocks()->ids()[2], shared[2]) << "a wrote into a block b holds";
  expect_same_logits(m, *alone, *b, {4, 1, 1, 3}, vocab, "after sharing");
  a.reset();
  b.reset();
  EXPECT_EQ(pool->held_blocks(), 0);
  pool->check();
}

TEST(PagedKV, AnEmptyPoolThrowsAndABudgetWithoutABlockIsAnError) {
  CpuModel m(Model::load(test::fixture_dir("llama2-mha-f32")));
  EXPECT_THROW(m.enable_kv_pool(100, 16, {}), Error);
  const size_t block = m.make_sequence({})->bytes_per_position() * 4;
  KVPool* pool = m.enable_kv_pool(2 * block, 4, {});
  ASSERT_EQ(pool->total_blocks(), 2);
  auto s = m.make_sequence({});
  EXPECT_THROW(s->reserve(9), KVPoolExhausted);
  EXPECT_EQ(pool->held_blocks(), 2) << "it keeps what it got";
  EXPECT_THROW(m.enable_kv_pool(2 * block, 4, {}), Error) << "a new pool while sequences hold blocks";
}

}  // namespace
}  // namespace cpplm
