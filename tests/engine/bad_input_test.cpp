// Bad checkpoints and configs: each gives one clear error naming the file and the tensor or field.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/file_io.h"
#include "io/safetensors_writer.h"
#include "model/llama.h"
#include "test_util.h"

namespace cpplm {
namespace {
namespace fs = std::filesystem;

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cpplm_bad_" + std::to_string(::getpid()) + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const std::string src = test::fixture_dir("llama2-mha-f32");
    fs::copy_file(src + "/config.json", dir_ / "config.json");
    fs::copy_file(src + "/model.safetensors", dir_ / "model.safetensors");
    fs::permissions(dir_ / "config.json", fs::perms::owner_write, fs::perm_options::add);
    fs::permissions(dir_ / "model.safetensors", fs::perms::owner_write, fs::perm_options::add);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const char* f) const { return (dir_ / f).string(); }
  std::string bytes(const char* f) const { return read_file(path(f)); }
  void write(const char* f, const std::string& b) const { std::ofstream(path(f), std::ios::binary | std::ios::trunc) << b; }
  // Rewrites the safetensors header through `edit` (data unchanged).
  template <class F>
  void edit_header(F edit) const {
    std::string b = bytes("model.safetensors");
    uint64_t n;
    std::memcpy(&n, b.data(), 8);
    auto h = nlohmann::json::parse(b.substr(8, n));
    edit(h);
    std::string hs = h.dump();
    uint64_t m = hs.size();
    write("model.safetensors", std::string(reinterpret_cast<char*>(&m), 8) + hs + b.substr(8 + n));
  }
  void edit_config(const std::function<void(nlohmann::json&)>& edit) const {
    auto j = nlohmann::json::parse(bytes("config.json"));
    edit(j);
    write("config.json", j.dump());
  }
  // Loading fails with an Error whose message contains every needle.
  void expect_error(std::initializer_list<std::string> needles) const {
    try {
      Model::load(dir_.string());
      FAIL() << "expected an error";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
      for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
    }
  }
  fs::path dir_;
};

TEST_F(BadInput, LoadsWhenIntact) { EXPECT_NO_THROW(Model::load(dir_.string())); }

TEST_F(BadInput, MissingFolder) {
  fs::remove_all(dir_);
  expect_error({dir_.string(), "not found"});
}

TEST_F(BadInput, MissingConfig) {
  fs::remove(dir_ / "config.json");
  expect_error({"config.json", "not found"});
}

TEST_F(BadInput, InvalidJsonConfig) {
  write("config.json", "{\"model_type\": \"llama\", ");
  expect_error({"config.json", "invalid JSON"});
}

TEST_F(BadInput, UnknownModelType) {
  edit_config([](auto& j) { j["model_type"] = "gpt2"; });
  expect_error({"config.json", "model_type", "gpt2"});
}

TEST_F(BadInput, UnknownRopeType) {
  edit_config([](auto& j) { j["rope_scaling"] = {{"rope_type", "wobbly"}, {"factor", 2.0}}; });
  expect_error({"config.json", "rope", "wobbly"});
}

TEST_F(BadInput, WrongFieldType) {
  edit_config([](auto& j) { j["hidden_size"] = "sixty-four"; });
  expect_error({"config.json", "hidden_size"});
}

TEST_F(BadInput, MissingTensor) {
  edit_header([](auto& h) { h.erase("model.layers.1.mlp.up_proj.weight"); });
  expect_error({"model.layers.1.mlp.up_proj.weight", "missing"});
}

TEST_F(BadInput, WrongShape) {
  edit_config([](auto& j) { j["intermediate_size"] = 128; });
  expect_error({"model.safetensors", "mlp", "shape"});
}

TEST_F(BadInput, WrongDtype) {
  edit_header([](auto& h) { h["model.norm.weight"]["dtype"] = "I32"; });
  expect_error({"model.safetensors", "model.norm.weight", "I32"});
}

TEST_F(BadInput, DtypeShapeMismatchesBytes) {
  edit_header([](auto& h) { h["model.norm.weight"]["dtype"] = "F16"; });
  expect_error({"model.safetensors", "model.norm.weight", "bytes"});
}

TEST_F(BadInput, TruncatedFile) {
  std::string b = bytes("model.safetensors");
  write("model.safetensors", b.substr(0, b.size() - 1000));
  expect_error({"model.safetensors", "outside the data", "truncated"});
}

TEST_F(BadInput, HeaderLengthPastEnd) {
  std::string b = bytes("model.safetensors");
  uint64_t n = b.size() * 2;
  std::memcpy(b.data(), &n, 8);
  write("model.safetensors", b);
  expect_error({"model.safetensors", "header length"});
}

TEST_F(BadInput, OffsetsOutOfRange) {
  edit_header([](auto& h) { h["model.norm.weight"]["data_offsets"] = {1u << 30, (1u << 30) + 256}; });
  expect_error({"model.safetensors", "model.norm.weight", "outside"});
}

TEST_F(BadInput, OverlappingTensors) {
  edit_header(
      [](auto& h) { h["model.norm.weight"]["data_offsets"] = h["model.layers.0.input_layernorm.weight"]["data_offsets"]; });
  expect_error({"model.safetensors", "overlaps"});
}

TEST_F(BadInput, RandomBytesHeader) {
  std::string b = bytes("model.safetensors");
  std::mt19937 rng(7);
  for (size_t i = 0; i < 8 + 200; ++i) b[i] = static_cast<char>(rng());
  write("model.safetensors", b);
  expect_error({"model.safetensors"});
}

TEST_F(BadInput, RandomBytesInsideHeader) {
  std::string b = bytes("model.safetensors");
  std::mt19937 rng(11);
  for (size_t i = 8; i < 8 + 300; ++i) b[i] = static_cast<char>(rng());
  write("model.safetensors", b);
  expect_error({"model.safetensors", "JSON"});
}

TEST_F(BadInput, EmptyFile) {
  write("model.safetensors", "");
  expect_error({"model.safetensors", "too small"});
}

TEST_F(BadInput, UnexpectedTensor) {
  // An extra tensor is kept in the file (appended data) but belongs to no module.
  std::string b = bytes("model.safetensors");
  uint64_t n;
  std::memcpy(&n, b.data(), 8);
  const uint64_t data_size = b.size() - 8 - n;
  edit_header([&](auto& h) {
    h["model.extra.weight"] = {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {data_size, data_size + 4}}};
  });
  write("model.safetensors", bytes("model.safetensors") + std::string(4, '\0'));
  expect_error({"model.extra.weight", "unexpected"});
}

TEST_F(BadInput, ShardIndexNamesMissingFile) {
  fs::rename(dir_ / "model.safetensors", dir_ / "model-00001-of-00001.safetensors");
  write("model.safetensors.index.json", R"({"weight_map": {"model.norm.weight": "model-00002-of-00002.safetensors"}})");
  expect_error({"model-00002-of-00002.safetensors"});
}

TEST_F(BadInput, TokenIdOutsideVocab) {
  auto m = Model::load(dir_.string());
  SequenceCache c = m->make_cache();
  std::vector<int32_t> toks = {5, 100000};
  SequenceInput in{toks, &c};
  EXPECT_THROW(m->forward({&in, 1}, false), Error);
}

TEST(SafetensorsWriter, RoundTrip) {
  std::vector<uint16_t> a = {1, 2, 3, 4, 5, 6};
  std::vector<float> b = {1.5f, -2.0f};
  const std::string p = (fs::temp_directory_path() / "cpplm_rt.safetensors").string();
  save_safetensors(p, {{"a", {a.data(), DType::BF16, {2, 3}}}, {"b", {b.data(), DType::F32, {2}}}}, {{"format", "pt"}});
  SafetensorsFile f(p);
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensors().at("a").shape, (Shape{2, 3}));
  EXPECT_EQ(f.tensors().at("a").as<uint16_t>()[5], 6);
  EXPECT_EQ(f.tensors().at("b").as<float>()[1], -2.0f);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  fs::remove(p);
}

}  // namespace
}  // namespace cpplm
