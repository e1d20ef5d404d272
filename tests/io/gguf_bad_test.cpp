// GGUF validation: damaged copies of a llama.cpp file and hand-built bad files each give an Error naming the problem.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "io/gguf.h"

namespace cpplm {
namespace {

using Bytes = std::vector<uint8_t>;
const std::string kQ2K = std::string(CPPLM_TEST_DATA) + "/gguf/llama-6m-kjv-fortunes-q2_k.gguf";

Bytes fixture() {
  std::string s = read_file(kQ2K);
  return Bytes(s.begin(), s.end());
}

// The Error message of parsing `b`, or "parsed" when it parses.
std::string error_of(const Bytes& b) {
  try {
    GgufFile::from_bytes(b.data(), b.size(), "bad.gguf");
  } catch (const Error& e) {
    return e.what();
  }
  return "parsed";
}

#define EXPECT_ERROR(bytes, needle)                                                            \
  do {                                                                                         \
    const std::string m_ = error_of(bytes);                                                    \
    EXPECT_NE(m_.find("bad.gguf: "), std::string::npos) << m_;                                 \
    EXPECT_NE(m_.find(needle), std::string::npos) << "expected " << (needle) << " in: " << m_; \
  } while (0)

template <typename T>
void put(Bytes* b, size_t at, T v) {
  std::memcpy(b->data() + at, &v, sizeof(T));
}

// A small GGUF v3 writer for files the fixture cannot be bent into.
struct Writer {
  Bytes b;
  template <typename T>
  Writer& num(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof(T));
    return *this;
  }
  Writer& str(const std::string& s) {
    num<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Writer& header(uint64_t n_tensors, uint64_t n_kv) {
    return num<uint32_t>(0x46554747).num<uint32_t>(3).num(n_tensors).num(n_kv);
  }
  Writer& kv_u32(const std::string& k, uint32_t v) { return str(k).num<uint32_t>(4).num(v); }
  Writer& tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name).num<uint32_t>(ne.size());
    for (uint64_t d : ne) num(d);
    return num(type).num(offset);
  }
  Writer& data(size_t n, size_t align = 32) {  // pad to the alignment, then n bytes of tensor data
    b.resize((b.size() + align - 1) / align * align + n);
    return *this;
  }
};

// Two F32 tensors of `n` elements at the given offsets, with 256 bytes of data.
Bytes two_tensors(uint64_t n, uint64_t off_a, uint64_t off_b, size_t data = 256) {
  return Writer().header(2, 1).kv_u32("general.alignment", 32).tensor("a", {n}, 0, off_a).tensor("b", {n}, 0, off_b).data(data).b;
}

TEST(GgufBad, BuiltGoodFileParses) {
  Bytes b = two_tensors(32, 0, 128);
  EXPECT_EQ(error_of(b), "parsed");
  GgufFile f = GgufFile::from_bytes(b.data(), b.size(), "good.gguf");
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensors()[1].nbytes, 128u);
  EXPECT_EQ(f.tensors()[1].data, b.data() + f.data_offset() + 128);
}

TEST(GgufBad, BuiltValuesReadBack) {
  Writer w;
  w.header(0, 4).str("neg").num<uint32_t>(5).num<int32_t>(-7);
  w.str("big").num<uint32_t>(10).num<uint64_t>(~uint64_t(0));
  w.str("f64s").num<uint32_t>(9).num<uint32_t>(12).num<uint64_t>(2).num(0.5).num(-2.25);
  w.str("nest").num<uint32_t>(9).num<uint32_t>(9).num<uint64_t>(2);
  w.num<uint32_t>(1).num<uint64_t>(1).num<int8_t>(-3).num<uint32_t>(8).num<uint64_t>(1).str("x");
  const GgufFile f = GgufFile::from_bytes(w.b.data(), w.b.size(), "values.gguf");
  EXPECT_EQ(f.get_i64("neg"), -7);
  EXPECT_THROW(f.get_u32("neg"), Error);
  EXPECT_EQ(f.get_u64("big"), ~uint64_t(0));
  EXPECT_THROW(f.get_u32("big"), Error);
  EXPECT_THROW(f.get_i64("big"), Error);
  EXPECT_EQ(f.get_array("f64s").float_at(1), -2.25);
  const GgufValue& nest = f.get_array("nest");
  ASSERT_EQ(nest.size(), 2u);
  EXPECT_EQ(nest.array_at(0).int_at(0), -3);
  EXPECT_EQ(nest.array_at(1).string_at(0), "x");
  EXPECT_EQ(f.data_offset(), (w.b.size() + 31) / 32 * 32);
}

TEST(GgufBad, TruncatedAnywhere) {
  const Bytes full = fixture();
  std::vector<size_t> cuts;
  for (size_t n = 0; n < 4096; ++n) cuts.push_back(n);  // every byte of the header and first keys
  for (size_t n = 4096; n < full.size(); n += full.size() / 300) cuts.push_back(n);
  cuts.push_back(full.size() - 1);
  for (size_t n : cuts) {
    const Bytes cut(full.begin(), full.begin() + n);
    const std::string m = error_of(cut);
    const bool named = m.find("truncated") != std::string::npos || m.find("past the end") != std::string::npos ||
                       m.find("cannot fit") != std::string::npos || m.find("too small") != std::string::npos;
    ASSERT_TRUE(named) << "cut at " << n << ": " << m;
  }
}

TEST(GgufBad, MagicAndVersion) {
  Bytes b = fixture();
  b[0] = 'X';
  EXPECT_ERROR(b, "magic");
  for (uint32_t v : {1u, 99u}) {
    b = fixture();
    put<uint32_t>(&b, 4, v);
    EXPECT_ERROR(b, "version " + std::to_string(v) + " is not supported");
  }
  b = fixture();
  put<uint32_t>(&b, 4, 2);  // v2 has the v3 layout
  EXPECT_EQ(error_of(b), "parsed");
}

TEST(GgufBad, AbsurdCountsAndLengths) {
  Bytes b = fixture();
  put<uint64_t>(&b, 8, uint64_t(1) << 60);
  EXPECT_ERROR(b, "tensor count 1152921504606846976 cannot fit");
  b = fixture();
  put<uint64_t>(&b, 16, uint64_t(1) << 60);
  EXPECT_ERROR(b, "metadata count 1152921504606846976 cannot fit");
  b = fixture();
  put<uint64_t>(&b, 24, ~uint64_t(0));  // the first key's length
  EXPECT_ERROR(b, "string length 18446744073709551615");
  b = Writer().header(0, 1).str("k").num<uint32_t>(9).num<uint32_t>(0).num<uint64_t>(uint64_t(1) << 40).b;
  EXPECT_ERROR(b, "'k': array length 1099511627776");
  b = Writer().header(0, 1).str("k").num<uint32_t>(9).num<uint32_t>(8).num<uint64_t>(3).str("a").str("b").num<uint64_t>(99).b;
  EXPECT_ERROR(b, "'k'[2]: string length 99");
}

TEST(GgufBad, ValueTypesNestingAndKeys) {
  Bytes b = Writer().header(0, 1).str("k").num<uint32_t>(13).num<uint32_t>(0).b;
  EXPECT_ERROR(b, "'k' value type: invalid value type 13");
  b = Writer().header(0, 1).str("k").num<uint32_t>(9).num<uint32_t>(77).num<uint64_t>(0).b;
  EXPECT_ERROR(b, "invalid value type 77");
  Writer deep;
  deep.header(0, 1).str("k").num<uint32_t>(9);
  for (int i = 0; i < 20; ++i) deep.num<uint32_t>(9).num<uint64_t>(1);
  deep.num<uint32_t>(0).num<uint64_t>(0);
  EXPECT_ERROR(deep.b, "nested more than");
  b = Writer().header(0, 2).kv_u32("k", 1).kv_u32("k", 2).b;
  EXPECT_ERROR(b, "duplicate metadata key 'k'");
  b = Writer().header(0, 1).kv_u32("general.alignment", 48).b;
  EXPECT_ERROR(b, "general.alignment 48 is not a power of two");
  b = Writer().header(0, 1).kv_u32("general.alignment", 0).b;
  EXPECT_ERROR(b, "not a power of two");
  b = Writer().header(0, 1).str("general.alignment").num<uint32_t>(8).str("32").b;
  EXPECT_ERROR(b, "general.alignment is STRING");
}

TEST(GgufBad, TensorShapesAndTypes) {
  auto one = [](std::vector<uint64_t> ne, uint32_t type) { return Writer().header(1, 0).tensor("w", ne, type, 0).data(4096).b; };
  EXPECT_ERROR(one({}, 0), "tensor 'w': n_dims 0");
  EXPECT_ERROR(one({1, 1, 1, 1, 1}, 0), "tensor 'w': n_dims 5");
  EXPECT_ERROR(one({4, 0}, 0), "tensor 'w': dimension ne[1] is 0");
  EXPECT_ERROR(one({uint64_t(1) << 32, uint64_t(1) << 32}, 0), "tensor 'w': element count overflows");
  EXPECT_ERROR(one({32}, 42), "tensor 'w': unknown ggml type 42");
  EXPECT_ERROR(one({32}, 4), "unknown ggml type 4");
  EXPECT_ERROR(one({100, 2}, 12), "tensor 'w': ne[0] = 100 is not a multiple of Q4_K's block size 256");
  EXPECT_EQ(error_of(one({256, 2}, 12)), "parsed");
  Bytes b = Writer().header(2, 0).tensor("w", {8}, 0, 0).tensor("w", {8}, 0, 32).data(64).b;
  EXPECT_ERROR(b, "duplicate tensor name 'w'");
}

TEST(GgufBad, TensorPlacement) {
  EXPECT_ERROR(two_tensors(32, 0, 160), "tensor 'b': data [160, 288) lies past the end");
  EXPECT_ERROR(two_tensors(32, 0, ~uint64_t(0) - 31), "tensor 'b'");
  EXPECT_ERROR(two_tensors(32, 0, 96), "tensor 'b' (offset 96) overlaps tensor 'a'");
  EXPECT_ERROR(two_tensors(32, 0, 0), "overlaps");
  EXPECT_ERROR(two_tensors(32, 0, 130), "tensor 'b': offset 130 is not a multiple of the alignment 32");
  Bytes b = fixture();
  b.resize(b.size() - 1);  // the last tensor loses its last byte
  EXPECT_ERROR(b, "lies past the end of the data section");
}

}  // namespace
}  // namespace cpplm
