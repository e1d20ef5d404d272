// ggml dequantization against llama.cpp's own f32 values, bit for bit, for every type in the GGUF fixtures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "backends/cpu/ggml_dequant.h"
#include "core/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"

namespace cpplm {
namespace {

const std::string kDir = std::string(CPPLM_TEST_DATA) + "/gguf/dequant/";

std::vector<std::string> fixture_files() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(kDir)) {
    if (e.path().extension() == ".safetensors") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Every value of every tensor of every fixture file; the first mismatch names type, tensor, row and element.
TEST(GgmlDequant, BitExactAgainstLlamaCpp) {
  const auto files = fixture_files();
  ASSERT_EQ(files.size(), 14u) << kDir;
  std::set<std::string> types_seen;
  for (const std::string& path : files) {
    SafetensorsFile f(path);
    const auto types = nlohmann::json::parse(f.metadata().at("types"));
    ASSERT_EQ(types.size(), 6u) << path;
    for (const auto& [tensor, type_json] : types.items()) {
      const auto type = type_json.get<uint32_t>();
      const std::string type_name = ggml_type_name(static_cast<GgmlType>(type));
      types_seen.insert(type_name);
      const TensorView& raw = f.tensors().at(tensor + ".raw");
      const TensorView& want = f.tensors().at(tensor + ".want");
      const auto rows = static_cast<size_t>(want.dim(0)), cols = static_cast<size_t>(want.dim(1));
      size_t be = 0, bb = 0;
      ASSERT_TRUE(cpu::ggml_block_layout(type, &be, &bb)) << type_name;
      const size_t row_bytes = cols / be * bb;
      ASSERT_EQ(raw.nbytes(), rows * row_bytes) << path << " " << tensor;
      std::vector<float> got(cols);
      for (size_t r = 0; r < rows; ++r) {
        const auto* src = static_cast<const uint8_t*>(raw.data) + r * row_bytes;
        cpu::ggml_dequantize(type, src, row_bytes, cols, got.data());
        const float* w = want.as<float>() + r * cols;
        for (size_t c = 0; c < cols; ++c) {
          ASSERT_EQ(bits(got[c]), bits(w[c])) << type_name << " " << tensor << " row " << r << " element " << c << " of " << path
                                              << ": got " << got[c] << ", llama.cpp " << w[c];
        }
      }
    }
  }
  // The 15 types of the task less F32 (no fixture file holds an F32 tensor among the six).
  EXPECT_EQ(types_seen, (std::set<std::string>{"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K",
                                               "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"}));
}

// A whole tensor decoded in one call equals the row-by-row decoding (blocks follow each other without padding).
TEST(GgmlDequant, ManyRowsInOneCall) {
  SafetensorsFile f(kDir + "llama-6m-kjv-fortunes-q3_k_m.safetensors");
  const TensorView& raw = f.tensors().at("blk.3.ffn_down.weight.raw");
  const TensorView& want = f.tensors().at("blk.3.ffn_down.weight.want");
  std::vector<float> got(static_cast<size_t>(want.numel()));
  cpu::ggml_dequantize(static_cast<uint32_t>(GgmlType::Q4_K), raw.data, raw.nbytes(), got.size(), got.data());
  EXPECT_EQ(std::memcmp(got.data(), want.data, got.size() * 4), 0);
}

// The fixture's bytes are the GGUF file's: the committed Q2_K file holds the same rows.
TEST(GgmlDequant, FixtureBytesComeFromTheGguf) {
  GgufFile g(std::string(CPPLM_TEST_DATA) + "/gguf/llama-6m-kjv-fortunes-q2_k.gguf");
  SafetensorsFile f(kDir + "llama-6m-kjv-fortunes-q2_k.safetensors");
  for (const char* name : {"token_embd.weight", "blk.0.attn_k.weight", "blk.3.ffn_down.weight"}) {
    const GgufTensor* t = g.find_tensor(name);
    ASSERT_NE(t, nullptr) << name;
    const TensorView& raw = f.tensors().at(std::string(name) + ".raw");
    ASSERT_LE(raw.nbytes(), t->nbytes);
    EXPECT_EQ(std::memcmp(raw.data, t->data, raw.nbytes()), 0) << name;
  }
}

TEST(GgmlDequant, F32IsCopied) {
  const float src[3] = {1.5f, -0.0f, 3e-40f};
  float dst[3];
  cpu::ggml_dequantize(static_cast<uint32_t>(GgmlType::F32), src, sizeof(src), 3, dst);
  EXPECT_EQ(std::memcmp(src, dst, sizeof(src)), 0);
}

void expect_error(uint32_t type, size_t src_bytes, size_t n, const std::string& needle) {
  std::vector<uint8_t> src(src_bytes);
  std::vector<float> dst(n + 256);
  try {
    cpu::ggml_dequantize(type, src.data(), src.size(), n, dst.data());
    FAIL() << "no error for type " << type << ", n " << n;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(GgmlDequant, BadCountsAndBuffersThrow) {
  using Q = GgmlType;
  expect_error(static_cast<uint32_t>(Q::Q4_K), 144, 128, "Q4_K");          // half a super-block
  expect_error(static_cast<uint32_t>(Q::Q8_0), 34 * 4, 100, "Q8_0");       // not a multiple of 32
  expect_error(static_cast<uint32_t>(Q::Q6_K), 210 * 2 - 1, 512, "Q6_K");  // buffer one byte short
  expect_error(static_cast<uint32_t>(Q::IQ4_XS), 0, 256, "IQ4_XS");
  expect_error(static_cast<uint32_t>(Q::BF16), 5, 3, "BF16");
  expect_error(16, 1024, 256, "16");  // IQ2_XXS: not decoded here
}

}  // namespace
}  // namespace cpplm
