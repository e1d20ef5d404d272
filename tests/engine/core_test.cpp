// dtype conversions, RoPE types and caches.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"
#include "model/cache.h"
#include "model/rope_utils.h"
#include "ops/attention.h"

namespace cpplm {
namespace {

// The smaps block of the mapping that holds address p ("" if none is found).
std::string smaps_entry(const void* p) {
  std::ifstream in("/proc/self/smaps");
  const auto a = reinterpret_cast<uintptr_t>(p);
  std::string line, block;
  bool inside = false;
  while (std::getline(in, line)) {
    unsigned long lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      if (inside) return block;
      inside = a >= lo && a < hi;
      block.clear();
    }
    if (inside) block += line + "\n";
  }
  return inside ? block : "";
}

TEST(Buffer, LargeOnesStartOnHugePagesAndAskForThem) {
  const size_t mib = size_t{1} << 20;
  Buffer small(1000), empty(0), large(5 * mib + 123);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small.data()) % 64, 0u);
  EXPECT_NE(empty.data(), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(large.data()) % (2 * mib), 0u);
  std::memset(large.data(), 1, large.size());  // every byte is usable, the tail past the last whole page too
  EXPECT_EQ(large.as<uint8_t>()[large.size() - 1], 1);
  std::ifstream mode("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string m((std::istreambuf_iterator<char>(mode)), std::istreambuf_iterator<char>());
  if (m.empty() || m.find("[never]") != std::string::npos) GTEST_SKIP() << "transparent huge pages off here";
  const std::string e = smaps_entry(large.data());
  ASSERT_FALSE(e.empty());
  const size_t at = e.find("THPeligible:");
  ASSERT_NE(at, std::string::npos) << e;
  int eligible = -1;
  std::istringstream(e.substr(at + 12)) >> eligible;
  EXPECT_EQ(eligible, 1) << e;
}

TEST(DType, F16RoundTripsEveryValue) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_f16(f), h) << h;
  }
}

TEST(DType, F16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_f16(1.0f + 1.0f / 2048), f32_to_f16(1.0f));                // halfway, even stays
  EXPECT_EQ(f32_to_f16(1.0f + 3.0f / 2048), f32_to_f16(1.0f + 2.0f / 1024));  // halfway, rounds up to even
  EXPECT_EQ(f16_to_f32(f32_to_f16(1e-7f)), std::ldexp(2.0f, -24));            // subnormal
  EXPECT_EQ(f16_to_f32(f32_to_f16(1e6f)), INFINITY);
}

TEST(DType, Bf16RoundTripsAndRounds) {
  for (uint32_t h = 0; h < 65536; h += 7) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (!std::isnan(f)) {
      EXPECT_EQ(f32_to_bf16(f), h);
    }
  }
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.00390625f)), 1.0f);  // halfway to even
}

ModelArgs args_with(const std::string& rope_type) {
  ModelArgs a;
  a.head_dim = 16;
  a.max_position_embeddings = 64;
  a.rope_scaling.type = rope_type;
  return a;
}

TEST(Rope, UnknownTypeIsAClearError) {
  try {
    Rope r(args_with("wobbly"), "cfg.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("wobbly"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("cfg.json"), std::string::npos);
  }
}

TEST(Rope, LinearDividesPositions) {
  ModelArgs a = args_with("linear");
  a.rope_scaling.factor = 2.0;
  Rope lin(a, "x"), def(args_with("default"), "x");
  float c1[8], s1[8], c2[8], s2[8];
  int p4 = 4, p2 = 2;
  lin.tables(&p4, 1, 5, c1, s1);
  def.tables(&p2, 1, 3, c2, s2);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(c1[i], c2[i], 1e-6);
}

// A rotating cache with window W gives the same attention as a full cache with a W mask.
TEST(Cache, RotatingEqualsWindowedFull) {
  const int kvh = 2, heads = 4, d = 8, W = 5, T = 17;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  std::vector<float> q(T * heads * d), k(T * kvh * d), v(T * kvh * d);
  for (auto* vec : {&q, &k, &v})
    for (float& x : *vec) x = nd(rng);
  KVCache full(kvh, d);
  RotatingKVCache ring(kvh, d, W);
  AttentionParams p{1, heads, kvh, d, 0.35f, W, 0};
  // Prefill 7 tokens into both, then decode one at a time.
  auto step = [&](KVCache& c, int start, int n, std::vector<float>& out) {
    AttentionParams pp = p;
    pp.n = n;
    out.resize(n * heads * d);
    attention(pp, &q[start * heads * d], &k[start * kvh * d], &v[start * kvh * d], c.view(), out.data());
    c.append(&k[start * kvh * d], &v[start * kvh * d], n);
  };
  std::vector<float> a, b;
  step(full, 0, 7, a);
  step(ring, 0, 7, b);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6);
  for (int t = 7; t < T; ++t) {
    step(full, t, 1, a);
    step(ring, t, 1, b);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6) << "t=" << t;
  }
  EXPECT_EQ(ring.nbytes(), static_cast<size_t>(2 * kvh * W * d * 4));
  EXPECT_FALSE(ring.retained(T - W - 1));
  EXPECT_TRUE(ring.retained(T - W));
}

TEST(Cache, SinksAreKept) {
  RotatingKVCache c(1, 2, /*max_size=*/4, /*keep=*/2);
  for (int i = 0; i < 10; ++i) {
    float kv[2] = {static_cast<float>(i), 0};
    c.append(kv, kv, 1);
  }
  auto key0 = [&](int pos) {
    float k[2];
    c.key(0, pos, k);
    return k[0];
  };
  EXPECT_EQ(key0(0), 0);
  EXPECT_EQ(key0(1), 1);
  EXPECT_EQ(key0(8), 8);
  EXPECT_EQ(key0(9), 9);
  EXPECT_TRUE(c.retained(1) && c.retained(8) && !c.retained(7));
}

}  // namespace
}  // namespace cpplm
