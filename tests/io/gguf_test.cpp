// GGUF reader against llama.cpp's files: metadata and tensor table equal gguf-py's parse, typed getters, block sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include <cstring>
#include "core/error.h"
#include "core/json_file.h"
#include "io/gguf.h"

namespace cpplm {
namespace {

const std::string kDir = std::string(CPPLM_TEST_DATA) + "/gguf/";
const std::string kQ2K = kDir + "llama-6m-kjv-fortunes-q2_k.gguf";

nlohmann::ordered_json reference(const std::string& gguf_name) {
  return parse_json_file<nlohmann::ordered_json>(kDir + "reference/" + gguf_name + "-parse.json");
}

// One metadata value against gguf-py's JSON (arrays over 64 entries appear as {array_of, length}).
void expect_value(const std::string& key, const GgufValue& v, const nlohmann::ordered_json& want) {
  SCOPED_TRACE(key);
  if (want.is_string()) {
    ASSERT_EQ(v.type(), GgufType::STRING);
    EXPECT_EQ(v.as_string(), want.get<std::string>());
  } else if (want.is_boolean()) {
    ASSERT_EQ(v.type(), GgufType::BOOL);
    EXPECT_EQ(v.as_bool(), want.get<bool>());
  } else if (want.is_number_integer()) {
    ASSERT_TRUE(v.is_integer()) << gguf_type_name(v.type());
    EXPECT_EQ(v.as_i64(), want.get<int64_t>());
  } else if (want.is_number_float()) {
    ASSERT_TRUE(v.is_float()) << gguf_type_name(v.type());
    if (v.type() == GgufType::FLOAT32) {
      EXPECT_EQ(static_cast<float>(v.as_f64()), want.get<float>());
    } else {
      EXPECT_EQ(v.as_f64(), want.get<double>());
    }
  } else if (want.is_object()) {
    ASSERT_TRUE(v.is_array());
    EXPECT_STREQ(gguf_type_name(v.elem_type()), want["array_of"].get<std::string>().c_str());
    EXPECT_EQ(v.size(), want["length"].get<size_t>());
  } else {
    ASSERT_TRUE(want.is_array());
    ASSERT_TRUE(v.is_array());
    ASSERT_EQ(v.size(), want.size());
    for (size_t i = 0; i < v.size(); ++i) {
      if (want[i].is_string()) {
        EXPECT_EQ(v.string_at(i), want[i].get<std::string>());
      } else if (want[i].is_number_integer()) {
        EXPECT_EQ(v.int_at(i), want[i].get<int64_t>());
      } else if (want[i].is_number_float()) {
        EXPECT_FLOAT_EQ(v.float_at(i), want[i].get<double>());
      } else {
        EXPECT_EQ(v.bool_at(i), want[i].get<bool>());
      }
    }
  }
}

TEST(Gguf, MetadataAndTensorTableEqualLlamaCppParse) {
  const GgufFile f(kQ2K);
  const auto ref = reference("llama-6m-kjv-fortunes-q2_k.gguf");
  EXPECT_EQ(f.version(), ref["metadata"]["GGUF.version"].get<uint32_t>());
  EXPECT_EQ(f.alignment(), 32u);

  size_t i = 0;  // same keys in the same order ("GGUF.version" is gguf-py's, not a key in the file)
  for (const auto& [key, want] : ref["metadata"].items()) {
    if (key == "GGUF.version") continue;
    ASSERT_LT(i, f.metadata().size());
    EXPECT_EQ(f.metadata()[i].first, key);
    expect_value(key, f.metadata()[i].second, want);
    ++i;
  }
  EXPECT_EQ(i, f.metadata().size());

  const auto& tensors = ref["tensors"];
  ASSERT_EQ(f.tensors().size(), tensors.size());
  for (size_t t = 0; t < tensors.size(); ++t) {
    const GgufTensor& g = f.tensors()[t];
    SCOPED_TRACE(g.name);
    EXPECT_EQ(g.name, tensors[t]["name"].get<std::string>());
    EXPECT_STREQ(ggml_type_name(g.type), tensors[t]["type"].get<std::string>().c_str());
    EXPECT_EQ(g.ne, tensors[t]["shape_ne"].get<std::vector<uint64_t>>());
    // gguf-py's offset is from the start of the file (its ReaderTensor.data_offset), not of the data section.
    EXPECT_EQ(f.data_offset() + g.offset, tensors[t]["offset"].get<uint64_t>());
    EXPECT_EQ(g.nbytes, tensors[t]["n_bytes"].get<uint64_t>());
    EXPECT_EQ(f.find_tensor(g.name), &g);
  }
}

TEST(Gguf, TensorDataPointsIntoTheMapping) {
  const GgufFile f(kQ2K);
  EXPECT_EQ(f.data_offset() % f.alignment(), 0u);
  const uint8_t* base = f.tensors()[0].data - f.tensors()[0].offset - f.data_offset();
  for (const GgufTensor& t : f.tensors()) {
    EXPECT_EQ(t.data, base + f.data_offset() + t.offset) << t.name;
    EXPECT_LE(f.data_offset() + t.offset + t.nbytes, f.file_size()) << t.name;
  }
  const GgufTensor* norm = f.find_tensor("output_norm.weight");
  ASSERT_NE(norm, nullptr);
  ASSERT_EQ(norm->type, GgmlType::F32);
  for (size_t i = 0; i < norm->numel(); ++i) {  // an RMSNorm weight: finite
    float x;
    std::memcpy(&x, norm->data + 4 * i, 4);
    ASSERT_TRUE(std::isfinite(x));
  }
}

TEST(Gguf, TypedGetters) {
  const GgufFile f(kQ2K);
  EXPECT_EQ(f.get_u32("llama.block_count"), 6u);
  EXPECT_EQ(f.get_u64("llama.embedding_length"), 256u);
  EXPECT_EQ(f.get_i64("tokenizer.ggml.eos_token_id"), 9);
  EXPECT_FLOAT_EQ(f.get_f32("llama.attention.layer_norm_rms_epsilon"), 1e-5f);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_TRUE(f.get_bool("tokenizer.ggml.add_bos_token"));
  EXPECT_EQ(f.find("general.alignment")->type(), GgufType::UINT32);
  EXPECT_EQ(f.find("llama.rope.freq_base")->type(), GgufType::FLOAT32);

  const GgufValue& tokens = f.get_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.elem_type(), GgufType::STRING);
  ASSERT_EQ(tokens.strings().size(), 4096u);
  EXPECT_EQ(tokens.string_at(9), tokens.strings()[9]);
  const GgufValue& types = f.get_array("tokenizer.ggml.token_type");
  ASSERT_EQ(types.elem_type(), GgufType::INT32);
  for (size_t i = 0; i < types.size(); ++i) ASSERT_GE(types.int_at(i), 0) << i;
  EXPECT_THROW(types.string_at(0), Error);
  EXPECT_THROW(types.int_at(types.size()), Error);

  EXPECT_FALSE(f.get_u32_opt("llama.expert_count").has_value());
  EXPECT_EQ(f.get_u32_opt("llama.block_count"), 6u);
  EXPECT_EQ(f.get_array_opt("tokenizer.ggml.scores"), nullptr);
  EXPECT_EQ(f.get_string_opt("tokenizer.ggml.pre"), "llama-bpe");

  auto message = [&](auto fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string m = message([&] { f.get_u32("general.architecture"); });
  EXPECT_NE(m.find("'general.architecture'"), std::string::npos) << m;
  EXPECT_NE(m.find("STRING"), std::string::npos) << m;
  EXPECT_NE(m.find("unsigned integer"), std::string::npos) << m;
  m = message([&] { f.get_string("llama.missing"); });
  EXPECT_NE(m.find("'llama.missing' is missing"), std::string::npos) << m;
  m = message([&] { f.get_u32_opt("tokenizer.ggml.tokens"); });
  EXPECT_NE(m.find("is ARRAY"), std::string::npos) << m;
}

// Bytes per tensor from this reader's block table equal gguf-py's n_bytes in every reference file
// (all 14 quantizations: F16, BF16, Q4_0..Q8_0, K-quants, IQ4_NL, IQ4_XS).
TEST(Gguf, BlockSizesMatchLlamaCppForEveryReferenceFile) {
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(kDir + "reference")) {
    const std::string name = e.path().filename().string();
    if (!name.ends_with(".gguf-parse.json")) continue;  // llamacpp_reference.json: the model tests' greedy ids
    const auto ref = parse_json_file<nlohmann::ordered_json>(e.path().string());
    ++files;
    for (const auto& t : ref["tensors"]) {
      const std::string type = t["type"].get<std::string>();
      const GgmlTypeInfo* info = nullptr;
      for (uint32_t id = 0; id < 64 && !info; ++id)
        if (ggml_type_info(id) && type == ggml_type_info(id)->name) info = ggml_type_info(id);
      ASSERT_NE(info, nullptr) << name << ": " << type;
      uint64_t numel = 1;
      for (uint64_t d : t["shape_ne"].get<std::vector<uint64_t>>()) numel *= d;
      EXPECT_EQ(numel / info->block_size * info->block_bytes, t["n_bytes"].get<uint64_t>()) << name << " " << type;
    }
  }
  EXPECT_EQ(files, 14u);
}

TEST(Gguf, TypeNumbering) {
  EXPECT_STREQ(ggml_type_info(12)->name, "Q4_K");
  EXPECT_STREQ(ggml_type_info(30)->name, "BF16");
  EXPECT_EQ(ggml_type_info(4), nullptr);  // Q4_2, removed
  EXPECT_EQ(ggml_type_info(31), nullptr);
  EXPECT_EQ(ggml_type_info(1000), nullptr);
  EXPECT_EQ(ggml_type_info(8)->block_bytes, 34u);
  EXPECT_EQ(ggml_type_info(23)->block_bytes, 136u);
}

}  // namespace
}  // namespace cpplm
