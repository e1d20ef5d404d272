// The command line at the model's limits: past max_position_embeddings (a warning, or perplexity's
// refusal), a model whose logits turn NaN (exit 1 naming the step), perplexity's option messages.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/file_io.h"

#include "run_cli.h"

namespace {

using namespace cli_test;

namespace fs = std::filesystem;

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

// A fresh, empty folder under the test temp dir, named for the running test.
std::string fresh_dir(const std::string& what) {
  const std::string dir = ::testing::TempDir() + "cpplm_limits_" + what + "_" + std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// The first `chars` characters of the bundled held-out text, on one line (a chat message).
std::string held_out_text(size_t chars) {
  std::string t = cpplm::read_file(kModel + "/held_out.txt").substr(0, chars);
  for (char& c : t)
    if (c == '\n') c = ' ';
  return t;
}

TEST(Limits, GeneratePastTheContextWarnsOnce) {
  Result r = run_cpplm("generate --ignore-chat-template --temp 0 --max-tokens 1100 --prompt 'A computer is'");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string warning =
      "cpplm generate: warning: prompt (4 tokens) + max tokens (1100) exceed the model's "
      "max_position_embeddings (1024); quality degrades past it (a rope_scaling such as \"dynamic\" "
      "or \"yarn\" in config.json would extend it)\n";
  EXPECT_EQ(count(r.err, warning), 1u) << r.err;
  EXPECT_FALSE(r.out.empty());
  Result fits = run_cpplm("generate --ignore-chat-template --temp 0 --max-tokens 1020 --prompt 'A computer is'");
  ASSERT_EQ(fits.code, 0) << fits.err;
  EXPECT_FALSE(has(fits.err, "warning")) << fits.err;
  EXPECT_EQ(fits.out, r.out);  // a warning, not a change
}

// Chat warns once per conversation, however many turns stay past the limit; /reset starts over.
TEST(Limits, ChatWarnsOncePerConversation) {
  const std::string long_line = held_out_text(4500);  // over 1024 tokens
  Result r = run_cpplm("chat --max-tokens 8", long_line + "\nAnd then?\n/reset\n" + long_line + "\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(count(r.err, "cpplm chat: warning: prompt ("), 2u) << r.err;
  EXPECT_TRUE(has(r.err, "tokens) + max tokens (8) exceed the model's max_position_embeddings (1024)")) << r.err;
}

TEST(Limits, PerplexityPastTheContextIsRefused) {
  Result r = run_cpplm("perplexity --context 2048 --file " + kModel + "/held_out.txt");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_TRUE(has(r.err,
                  "cpplm perplexity: --context: 2048 exceeds the model's max_position_embeddings (1024); give "
                  "--allow-long-context to run it anyway"))
      << r.err;
  EXPECT_EQ(count(r.err, "\n"), 1u) << r.err;
}

TEST(Limits, PerplexityPastTheContextRunsWhenAllowed) {
  const std::string dir = fresh_dir("ppl");
  std::ofstream(dir + "/text.txt") << held_out_text(6000);  // over 1100 tokens
  Result r = run_cpplm("perplexity --json --context 1100 --allow-long-context --file " + dir + "/text.txt");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(count(r.err,
                  "cpplm perplexity: warning: perplexity windows of 1100 tokens exceed the model's "
                  "max_position_embeddings (1024); quality degrades past it"),
            1u)
      << r.err;
  const double ppl = nlohmann::json::parse(r.out)["perplexity"].get<double>();
  EXPECT_TRUE(std::isfinite(ppl) && ppl > 1.0) << ppl;  // trained on 256 tokens: high, but a number
  Result within = run_cpplm("perplexity --json --context 1024 --file " + dir + "/text.txt");
  ASSERT_EQ(within.code, 0) << within.err;
  EXPECT_FALSE(has(within.err, "warning")) << within.err;
  fs::remove_all(dir);
}

// Usage errors name the option and its range in plain numbers, on one short line.
TEST(Limits, PerplexityOptionMessagesAreReadable) {
  const std::string file = " --file " + kModel + "/held_out.txt";
  const std::pair<std::string, std::string> cases[] = {
      {"--context 1e400", "--context: must be an integer from 2 to 1048576, got '1e400'"},
      {"--context 99999999999999999999999", "--context: must be an integer from 2 to 1048576, got '99999999999999999999999'"},
      {"--context abc", "--context: must be an integer from 2 to 1048576, got 'abc'"},
      {"--context 1", "--context: must be an integer from 2 to 1048576, got '1'"},
      {"-t -1", "--threads: must be an integer from 0 to 1024, got '-1'"},
      {"-t 1e300", "--threads: must be an integer from 0 to 1024, got '1e300'"},
  };
  for (const auto& [args, needle] : cases) {
    Result r = run_cpplm("perplexity " + args + file);
    EXPECT_EQ(r.code, 2) << args << ": " << r.err;
    EXPECT_TRUE(has(r.err, needle)) << args << ": " << r.err;
    EXPECT_LT(r.err.size(), 200u) << args << ": " << r.err;
  }
  const std::string dir = fresh_dir("dir");
  Result d = run_cpplm("perplexity --file " + dir);
  EXPECT_EQ(d.code, 1) << d.err;
  EXPECT_EQ(d.err, "cpplm perplexity: " + dir + ": is a directory, not a file\n");
  fs::remove_all(dir);
}

// A copy of the bundled model whose final norm weights are NaN (bf16 0x7fc0): every logit is NaN.
std::string nan_model() {
  const std::string dir = fresh_dir("nan_model");
  for (const auto& e : fs::directory_iterator(kModel)) fs::copy_file(e.path(), dir + "/" + e.path().filename().string());
  const std::string path = dir + "/model.safetensors";
  std::string b = cpplm::read_file(path);
  uint64_t n = 0;
  std::memcpy(&n, b.data(), 8);
  const auto h = nlohmann::json::parse(b.substr(8, n));
  const auto& t = h.at("model.norm.weight");
  EXPECT_EQ(t.at("dtype"), "BF16");
  const size_t begin = 8 + n + t.at("data_offsets")[0].get<size_t>(), end = 8 + n + t.at("data_offsets")[1].get<size_t>();
  for (size_t i = begin; i < end; i += 2) b[i] = '\xc0', b[i + 1] = '\x7f';  // little-endian 0x7fc0
  fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << b;
  return dir;
}

TEST(Limits, NaNLogitsExitOneNamingTheStep) {
  const std::string dir = nan_model();
  Result r = run_cpplm("generate --device cpu --model " + dir + " --ignore-chat-template -n 8 --prompt 'In the beginning God'");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.out, "") << "no garbage text";
  EXPECT_TRUE(has(r.err, "cpplm generate: generation step 1 (position 4): the model produced non-finite logits (NaN/inf)"))
      << r.err;
  Result p = run_cpplm("perplexity --device cpu --model " + dir + " --context 64 --file " + kModel + "/held_out.txt");
  EXPECT_EQ(p.code, 1) << p.err;
  EXPECT_TRUE(has(p.err, "cpplm perplexity: perplexity window 1 (position 0): the model produced non-finite logits")) << p.err;
  EXPECT_TRUE(p.out.empty()) << p.out;
  fs::remove_all(dir);
}

}  // namespace
