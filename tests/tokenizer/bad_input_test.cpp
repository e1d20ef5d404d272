// Bad input: missing files, invalid JSON, unknown component types, bad configs, invalid UTF-8 and
// random bytes give a clear cpplm::Error or a lossy result, never a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "test_util.h"
#include "tokenizer/unicode.h"

namespace cpplm::test {
namespace {

namespace fs = std::filesystem;

// A tiny byte-level BPE tokenizer.json that each test breaks in one place.
nlohmann::json tiny_tokenizer() {
  return nlohmann::json::parse(R"({
    "version": "1.0", "added_tokens": [{"id": 3, "content": "<eos>", "special": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "post_processor": null, "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})");
}

std::string write_dir(const std::string& name, const std::string& tokenizer_json, const std::string& config_file = "",
                      const std::string& config_text = "") {
  const std::string dir = ::testing::TempDir() + "/cpplm_tok_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  if (!tokenizer_json.empty()) std::ofstream(dir + "/tokenizer.json") << tokenizer_json;
  if (!config_file.empty()) std::ofstream(dir + "/" + config_file) << config_text;
  return dir;
}

// Loads dir and returns the error message (fails the test when loading succeeds).
std::string load_error(const std::string& dir) {
  try {
    Tokenizer::load(dir);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error loading " << dir;
  return "";
}

#define EXPECT_MENTIONS(msg, part) EXPECT_NE((msg).find(part), std::string::npos) << (msg)

TEST(BadInput, TinyTokenizerWorks) {
  auto tok = Tokenizer::load(write_dir("ok", tiny_tokenizer().dump()));
  EXPECT_EQ(tok->encode("ab<eos>a", false), (std::vector<int32_t>{2, 3, 0}));
  EXPECT_EQ(tok->decode(std::vector<int32_t>{2, 3, 0}, true), "aba");
}

TEST(BadInput, MissingFolderAndFiles) {
  EXPECT_MENTIONS(load_error("/nonexistent/cpplm/folder"), "/nonexistent/cpplm/folder");
  EXPECT_MENTIONS(load_error(write_dir("empty", "")), "no tokenizer.json or tokenizer.model");
}

TEST(BadInput, InvalidJson) {
  std::string msg = load_error(write_dir("badjson", "{\"model\": {\"vocab\": {\"a\": 0,}"));
  EXPECT_MENTIONS(msg, "tokenizer.json");
  EXPECT_MENTIONS(msg, "invalid JSON");
  EXPECT_MENTIONS(load_error(write_dir("notobject", "[1, 2]")), "tokenizer.json");
  EXPECT_MENTIONS(load_error(write_dir("truncated", tiny_tokenizer().dump().substr(0, 150))), "invalid JSON");
}

TEST(BadInput, UnknownComponentTypesAreNamed) {
  for (const char* section : {"normalizer", "pre_tokenizer", "post_processor", "decoder"}) {
    nlohmann::json j = tiny_tokenizer();
    j[section] = {{"type", "FancyThing"}};
    std::string msg = load_error(write_dir(std::string("unknown_") + section, j.dump()));
    EXPECT_MENTIONS(msg, "FancyThing");
    EXPECT_MENTIONS(msg, section);
  }
  nlohmann::json j = tiny_tokenizer();
  j["model"]["type"] = "WordPiece";
  EXPECT_MENTIONS(load_error(write_dir("unknown_model", j.dump())), "WordPiece");
  j = tiny_tokenizer();
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Nested"}}}}};
  EXPECT_MENTIONS(load_error(write_dir("unknown_nested", j.dump())), "Nested");
}

TEST(BadInput, BrokenModelAndComponents) {
  nlohmann::json j = tiny_tokenizer();
  j["model"]["merges"] = {"a c"};
  EXPECT_MENTIONS(load_error(write_dir("bad_merge", j.dump())), "a c");
  j = tiny_tokenizer();
  j["model"]["merges"] = {"a b c"};
  EXPECT_MENTIONS(load_error(write_dir("bad_merge3", j.dump())), "a b c");
  j = tiny_tokenizer();
  j["model"]["unk_token"] = "<unk>";
  EXPECT_MENTIONS(load_error(write_dir("bad_unk", j.dump())), "<unk>");
  j = tiny_tokenizer();
  j["model"]["vocab"] = {{"a", "zero"}};
  EXPECT_MENTIONS(load_error(write_dir("bad_vocab", j.dump())), "vocab");
  j = tiny_tokenizer();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  EXPECT_MENTIONS(load_error(write_dir("bad_regex", j.dump())), "(unclosed");
  j = tiny_tokenizer();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Sideways"}};
  EXPECT_MENTIONS(load_error(write_dir("bad_behavior", j.dump())), "Sideways");
  j = tiny_tokenizer();
  j["decoder"] = {{"type", "Strip"}, {"start", "one"}};
  EXPECT_MENTIONS(load_error(write_dir("bad_strip", j.dump())), "start");
}

TEST(BadInput, BadConfigFiles) {
  const std::string tj = tiny_tokenizer().dump();
  EXPECT_MENTIONS(load_error(write_dir("bad_tc", tj, "tokenizer_config.json", "{bos_token: 1}")), "tokenizer_config.json");
  EXPECT_MENTIONS(load_error(write_dir("bad_bos", tj, "tokenizer_config.json", R"({"bos_token": 5})")), "bos_token");
  EXPECT_MENTIONS(load_error(write_dir("missing_eos", tj, "tokenizer_config.json", R"({"eos_token": "<nope>"})")), "<nope>");
  std::string msg = load_error(write_dir("bad_eos_id", tj, "config.json", R"({"eos_token_id": "two"})"));
  EXPECT_MENTIONS(msg, "config.json");
  EXPECT_MENTIONS(msg, "eos_token_id");
  EXPECT_MENTIONS(load_error(write_dir("bad_gen", tj, "generation_config.json", "{")), "generation_config.json");
  msg = load_error(write_dir("huge_number", tj, "tokenizer_config.json", R"({"model_max_length": 1e999})"));
  EXPECT_MENTIONS(msg, "tokenizer_config.json: invalid JSON");
}

TEST(BadInput, FolderInPlaceOfAFile) {
  const std::string dir = write_dir("json_is_folder", "");
  fs::create_directory(dir + "/tokenizer.json");
  const std::string msg = load_error(dir);
  EXPECT_MENTIONS(msg, dir + "/tokenizer.json: is a directory");
}

TEST(BadInput, EosIdsAreTheUnionOfAllSources) {
  const std::string dir = write_dir("eos_union", tiny_tokenizer().dump(), "tokenizer_config.json",
                                    R"({"eos_token": {"content": "<eos>"}, "bos_token": null})");
  std::ofstream(dir + "/config.json") << R"({"eos_token_id": [1, 3]})";
  std::ofstream(dir + "/generation_config.json") << R"({"eos_token_id": 2, "bos_token_id": 0})";
  auto tok = Tokenizer::load(dir);
  EXPECT_EQ(tok->eos_ids(), (std::vector<int32_t>{3, 1, 2}));
  EXPECT_EQ(tok->eos_token(), "<eos>");
  EXPECT_FALSE(tok->bos_id().has_value());  // bos_token explicitly null
}

TEST(BadInput, InvalidUtf8IsReadLossily) {
  const Tokenizer& tok = cached_tokenizer(tokenizer_dir("llama3"));
  const std::string bad[] = {"\xff", "a\xc3", "\xe2\x82", "x\xed\xa0\x80y", "\xf4\x90\x80\x80", "\xc0\xaf", "ok\x80\x80ok"};
  for (const std::string& s : bad) {
    EXPECT_EQ(tok.encode(s, false), tok.encode(tok::utf8_lossy(s), false)) << show(s);
    EXPECT_TRUE(tok::utf8_valid(tok.decode(tok.encode(s, false), false)));
  }
  EXPECT_EQ(tok::utf8_lossy("a\xe2\x82z"), "a\xEF\xBF\xBDz");                          // one U+FFFD per maximal subpart
  EXPECT_EQ(tok::utf8_lossy("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogates are invalid
}

TEST(BadInput, DecodeOfPartialBytesAndUnknownIds) {
  const Tokenizer& llama3 = cached_tokenizer(tokenizer_dir("llama3"));
  auto ids = llama3.encode("🦙", false);
  ASSERT_GT(ids.size(), 1u);
  EXPECT_EQ(llama3.decode(std::vector<int32_t>(ids.begin(), ids.begin() + 1), false), "\xEF\xBF\xBD");
  EXPECT_EQ(llama3.decode(std::vector<int32_t>{9906, -5, 99999999, 1917}, false), "Hello world");
  const Tokenizer& llama2 = cached_tokenizer(tokenizer_dir("llama2"));
  // Byte fallback: an incomplete sequence gives one U+FFFD per byte token (HF ByteFallback).
  EXPECT_EQ(llama2.decode(std::vector<int32_t>{*llama2.piece_to_id("<0xF0>"), *llama2.piece_to_id("<0x9F>")}, false),
            "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(BadInput, RandomBytesNeverCrash) {
  std::mt19937 rng(1234);
  for (const char* name : {"llama3", "llama2", "mistral-v0.1", "qwen3"}) {
    const Tokenizer& tok = cached_tokenizer(tokenizer_dir(name));
    for (int round = 0; round < 300; ++round) {
      std::string s(rng() % 64, '\0');
      for (char& c : s) c = static_cast<char>(rng() % 4 == 0 ? "< |>\n s\xe2\x96\x81"[rng() % 10] : rng() & 0xFF);
      auto ids = tok.encode(s, true);
      std::string text = tok.decode(ids, false);
      EXPECT_TRUE(tok::utf8_valid(text)) << name;
      EXPECT_EQ(stream_decode(tok, ids, false), text) << name << " " << show(s);
    }
  }
}

}  // namespace
}  // namespace cpplm::test
