// End-to-end tests of the cpplm command line: text generation, JSON, sampling, stops, errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/json_file.h"

#include "run_cli.h"

namespace {

using namespace cli_test;

nlohmann::json reference() { return cpplm::parse_json_file(kModel + "/reference.json"); }

TEST(Cli, GreedyTextMatchesTransformersForEveryPrompt) {
  const nlohmann::json ref = reference();
  ASSERT_EQ(ref["greedy"].size(), 5u);
  for (const auto& g : ref["greedy"]) {
    Result r = run_cpplm("generate --ignore-chat-template --temp 0 --max-tokens 32 --prompt " + quote(g["prompt"]));
    ASSERT_EQ(r.code, 0) << r.err;
    std::string want = g["greedy_text"];
    // transformers' decode shows the EOS token that stopped it; cpplm stops there without printing it.
    const std::string eot = "<|eot_id|>";
    if (want.size() >= eot.size() && want.compare(want.size() - eot.size(), eot.size(), eot) == 0)
      want.resize(want.size() - eot.size());
    EXPECT_EQ(r.out, want + "\n") << g["prompt"];
    EXPECT_NE(r.err.find("Generation:"), std::string::npos);
    EXPECT_NE(r.err.find("Peak memory:"), std::string::npos);
  }
}

TEST(Cli, JsonHasTextTokensFinishReasonAndStats) {
  auto ref = reference()["greedy"];
  for (int i : {0, 2}) {
    Result r = run_cpplm("generate --ignore-chat-template --max-tokens 32 --json --prompt " + quote(ref[i]["prompt"]));
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["tokens"], ref[i]["greedy_ids"]);
    EXPECT_EQ(j["finish_reason"], ref[i]["greedy_ids"].size() < 32 ? "stop" : "length");
    EXPECT_GT(j["generation_tps"].get<double>(), 0);
    EXPECT_GT(j["peak_memory_bytes"].get<double>(), 0);
  }
}

TEST(Cli, PromptTokensOnACheckpointWithoutTokenizer) {
  Result r = run_cpplm("generate --model " + std::string(CPPLM_TEST_DATA) +
                       "/hf-reference/llama2-mha-f32 --prompt-tokens 3,17,42 --max-tokens 5 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["tokens"].size(), 5u);
}

TEST(Cli, StdinPrompt) {
  Result a = run_cpplm("generate --ignore-chat-template --max-tokens 8 --prompt -", "In the beginning God");
  Result b = run_cpplm("generate --ignore-chat-template --max-tokens 8 --prompt 'In the beginning God'");
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
}

TEST(Cli, SeedsReproduceAndDiffer) {
  const std::string args = "generate --ignore-chat-template --max-tokens 24 --temp 0.9 --top-p 0.95 --prompt 'Once upon a time' ";
  Result a = run_cpplm(args + "--seed 7"), b = run_cpplm(args + "--seed 7"), c = run_cpplm(args + "--seed 8");
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);
}

TEST(Cli, TempZeroIsGreedy) {
  Result a = run_cpplm("generate --ignore-chat-template --max-tokens 16 --temp 0 --seed 3 --top-k 5 --prompt 'A computer is'");
  Result b = run_cpplm("generate --ignore-chat-template --max-tokens 16 --prompt 'A computer is'");
  EXPECT_EQ(a.out, b.out);
}

TEST(Cli, StopStringEndsGenerationAndIsNotPrinted) {
  Result r = run_cpplm(
      "generate --ignore-chat-template --max-tokens 32 --json --stop 'children' --prompt 'And the LORD said unto Moses,'");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["text"], " Speak unto the ");
  EXPECT_EQ(j["finish_reason"], "stop");
}

TEST(Cli, EosStopsWithFinishReasonStop) {
  Result r = run_cpplm("generate --ignore-chat-template --max-tokens 32 --json --prompt 'A computer is'");
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["finish_reason"], "stop");
  EXPECT_EQ(j["tokens"].back(), 9);
  EXPECT_EQ(j["text"].get<std::string>().find("<|eot_id|>"), std::string::npos);
}

// eos_token_id lists in generation_config.json and config.json both stop generation.
TEST(Cli, EosListsFromGenerationConfigAndConfigStop) {
  const std::string dir = ::testing::TempDir() + "cpplm_eos_lists";
  std::system(("rm -rf " + dir + " && cp -r " + kModel + " " + dir + " && chmod -R u+w " + dir).c_str());
  auto rewrite = [&](const std::string& file, const nlohmann::json& eos) {
    auto j = cpplm::parse_json_file(dir + "/" + file);
    j["eos_token_id"] = eos;
    std::ofstream(dir + "/" + file, std::ios::trunc) << j.dump();
  };
  const std::string args =
      "generate --ignore-chat-template --max-tokens 32 --json --model " + dir + " --prompt 'In the beginning God'";
  rewrite("generation_config.json", {2, 515});  // " the" is the 2nd greedy token
  auto j = nlohmann::json::parse(run_cpplm(args).out);
  EXPECT_EQ(j["tokens"], nlohmann::json({4022, 515}));
  EXPECT_EQ(j["finish_reason"], "stop");
  rewrite("generation_config.json", 9);
  rewrite("config.json", {9, 611});  // 3rd greedy token
  j = nlohmann::json::parse(run_cpplm(args).out);
  EXPECT_EQ(j["tokens"], nlohmann::json({4022, 515, 611}));
  EXPECT_EQ(j["finish_reason"], "stop");
}

TEST(Cli, MaxKvSizeRuns) {
  Result r = run_cpplm("generate --ignore-chat-template --max-tokens 40 --max-kv-size 16 --prompt 'In the beginning God'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
}

TEST(Cli, PerplexityOfHeldOutText) {
  Result r = run_cpplm("perplexity --json --context 256 --file " + kModel + "/held_out.txt");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["perplexity"].get<double>(), 45.11, 0.02);
  EXPECT_EQ(j["tokens_scored"], 5263);
  EXPECT_NE(r.err.find("windows"), std::string::npos);  // progress
}

// Converted to mlx 8-bit and 4-bit weights (group 64), the bundled model keeps its held-out
// perplexity (through the tokenizer, windows of 256) within 1 % and 10 % of the bf16 model.
TEST(Cli, ConvertedQuantizedModelsKeepHeldOutPerplexity) {
  auto ppl = [](const std::string& model) {
    Result r = run_cpplm("perplexity --json --context 256 --model " + model + " --file " + kModel + "/held_out.txt");
    EXPECT_EQ(r.code, 0) << r.err;
    return nlohmann::json::parse(r.out)["perplexity"].get<double>();
  };
  const double base = ppl(kModel);
  for (int bits : {8, 4}) {
    const std::string out = ::testing::TempDir() + "cpplm_q" + std::to_string(bits) + "_" + std::to_string(::getpid());
    Result c = run_cpplm("convert --model " + kModel + " --out " + out + " --quantize --q-bits " + std::to_string(bits) +
                         " --q-group-size 64");
    ASSERT_EQ(c.code, 0) << c.err;
    const double q = ppl(out);
    std::printf("[ held-out ] bf16 %.4f, %d-bit g64 %.4f (ratio %.4f)\n", base, bits, q, q / base);
    EXPECT_LT(q / base, bits == 8 ? 1.01 : 1.10);
    std::system(("rm -rf " + out).c_str());
  }
}

// An 8-bit KV cache gives the bundled model's greedy continuations unchanged.
TEST(Cli, KvBits8KeepsTheGreedyTokens) {
  const nlohmann::json ref = reference();  // kept alive: a range-for over a temporary's member dangles
  for (const auto& g : ref["greedy"]) {
    Result r =
        run_cpplm("generate --ignore-chat-template --temp 0 --max-tokens 32 --kv-bits 8 --json --prompt " + quote(g["prompt"]));
    ASSERT_EQ(r.code, 0) << r.err;
    const auto got = nlohmann::json::parse(r.out)["tokens"].get<std::vector<int>>();
    const auto want = g["greedy_ids"].get<std::vector<int>>();
    EXPECT_EQ(got, std::vector<int>(want.begin(), want.begin() + std::min(want.size(), got.size()))) << g["prompt"];
  }
  Result bad = run_cpplm("generate --kv-bits 4 --prompt hi");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--kv-bits"), std::string::npos) << bad.err;
}

TEST(Cli, ChatThreeTurnsThroughStdinRendersTheTemplate) {
  // The llama3_1 tokenizer fixture's template, on the bundled model (same special tokens).
  const std::string tmpl = std::string(CPPLM_TOKENIZER_DATA) + "/llama3_1";
  Result r = run_cpplm("chat --verbose --max-tokens 6 --chat-template " + tmpl, "Hello!\nWhat is 2+2?\n  And 3+3?  \n");
  ASSERT_EQ(r.code, 0) << r.err;
  // The rendered prompts are between ========== lines on stderr.
  std::vector<std::string> prompts;
  size_t pos = 0;
  const std::string bar = "==========\n";
  while ((pos = r.err.find(bar, pos)) != std::string::npos) {
    const size_t end = r.err.find("\n" + bar, pos + bar.size());
    if (end == std::string::npos) break;
    prompts.push_back(r.err.substr(pos + bar.size(), end - pos - bar.size()));
    pos = end + 1 + bar.size();
  }
  ASSERT_EQ(prompts.size(), 3u) << r.err;
  // The oracle's format (tokenizer_reference.json, llama3_1 chat): header, trimmed content, <|eot_id|>.
  auto turn = [](const std::string& role, std::string content) {
    content.erase(0, content.find_first_not_of(" \t\n"));
    content.erase(content.find_last_not_of(" \t\n") + 1);
    return "<|start_header_id|>" + role + "<|end_header_id|>\n\n" + content + "<|eot_id|>";
  };
  const std::string gen = "<|start_header_id|>assistant<|end_header_id|>\n\n";
  const std::vector<std::string> users = {"Hello!", "What is 2+2?", "  And 3+3?  "};
  std::string want = "<|begin_of_text|>";
  size_t out_pos = 0;
  for (int t = 0; t < 3; ++t) {
    want += turn("user", users[t]);
    EXPECT_EQ(prompts[t], want + gen) << "turn " << t;
    if (t == 2) break;
    // The model's reply sits between this prompt and the next user turn of the next prompt.
    const size_t start = want.size() + gen.size();
    const size_t stop = prompts[t + 1].rfind("<|eot_id|>" + turn("user", users[t + 1]));
    ASSERT_NE(stop, std::string::npos);
    const std::string reply = prompts[t + 1].substr(start, stop - start);
    want += gen + reply + "<|eot_id|>";
    // ... and it is what was streamed to stdout (untrimmed there).
    const size_t found = r.out.find(reply, out_pos);
    EXPECT_NE(found, std::string::npos) << reply;
    out_pos = found == std::string::npos ? out_pos : found + reply.size();
  }
}

TEST(Cli, ChatResetAndQuit) {
  Result r = run_cpplm("chat --max-tokens 4", "Hello\n/reset\nHello\n/quit\nignored\n");
  ASSERT_EQ(r.code, 0) << r.err;
  // After /reset the same message gets the same reply; nothing after /quit is answered.
  ASSERT_EQ(r.out.size() % 2, 0u);
  EXPECT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.substr(0, r.out.size() / 2), r.out.substr(r.out.size() / 2));
}

TEST(Cli, BenchTableOnTheCpu) {
  Result r = run_cpplm("bench --device cpu -p 8 -n 4 -r 1 --no-bandwidth");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("| pp8 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| tg4 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TFLOP/s |"), std::string::npos) << r.out;  // pp's arithmetic rate
}

// The serving test: a row per request count with its step rows (the CPU has no batched step: "-"), one table;
// JSON lines carry the same.
TEST(Cli, BenchConcurrencyTable) {
  Result r = run_cpplm("bench --device cpu --concurrency 1,3 -p 8 -n 4 --no-bandwidth");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4) << r.out;  // header, rule, two rows
  EXPECT_TRUE(has(r.out, "| requests | step rows |")) << r.out;
  EXPECT_TRUE(has(r.out, "| 1 | - | 8 | 4 |") && has(r.out, "| 3 | - | 8 | 4 |")) << r.out;
  Result j = run_cpplm("bench --device cpu --concurrency 2 -p 8 -n 4 --no-bandwidth --json");
  ASSERT_EQ(j.code, 0) << j.err;
  const nlohmann::json o = nlohmann::json::parse(j.out);
  EXPECT_EQ(o["requests"], 2);
  EXPECT_EQ(o["decode_batch_rows"], 0);
  EXPECT_GT(o["generated_ts"].get<double>(), 0);
}

// Resident memory is the weights + KV cache + a small rest: no GPU library is loaded for a CPU
// run (cuBLAS alone would add ~200 MB); the KV storage type follows --kv-bits.
TEST(Cli, BenchReportsResidentMemoryAndKvStorage) {
  for (const auto& [bits, name] : std::vector<std::pair<int, std::string>>{{0, "bf16"}, {8, "q8"}, {32, "f32"}}) {
    Result r = run_cpplm("bench --device cpu -p 0 -n 4 -r 1 --no-bandwidth --json --kv-bits " + std::to_string(bits));
    ASSERT_EQ(r.code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::array({nlohmann::json::parse(r.out)});  // one JSON line per result
    EXPECT_EQ(j[0]["kv_dtype"], name);
    EXPECT_GT(j[0]["kv_cache_bytes"].get<double>(), 0);
    EXPECT_GT(j[0]["bytes_per_token"].get<double>(), j[0]["size_bytes"].get<double>());
#if !defined(__SANITIZE_ADDRESS__)  // shadow memory and quarantine
    EXPECT_LT(j[0]["rss_bytes"].get<double>(), 64.0 * (1 << 20)) << "a 12 MB model";
#endif
  }
}

// Random weights in GGUF block formats (bench --dtype q4_k_m ...) on a small shape given as a config.json; an
// unknown type lists the valid ones.
TEST(Cli, BenchWithGgufBlockFormats) {
  const std::string cfg = ::testing::TempDir() + "cpplm_ggml_shape_" + std::to_string(::getpid()) + ".json";
  std::ofstream(cfg) << R"({"model_type": "llama", "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512, "rms_norm_eps": 1e-5, "tie_word_embeddings": true})";
  for (const std::string dtype : {"q4_k_m", "q3_k", "iq4_xs"}) {
    Result r = run_cpplm("bench --device cpu --shape " + cfg + " --dtype " + dtype + " -p 16 -n 4 -r 1 --no-bandwidth");
    ASSERT_EQ(r.code, 0) << dtype << ": " << r.err;
    EXPECT_TRUE(has(r.out, " " + dtype + " |")) << r.out;
    EXPECT_TRUE(has(r.out, "| tg4 |")) << r.out;
  }
  Result bad = run_cpplm("bench --device cpu --shape " + cfg + " --dtype q7_k -p 0 -n 4 -r 1 --no-bandwidth");
  EXPECT_EQ(bad.code, 1);
  EXPECT_TRUE(has(bad.err, "unknown dtype 'q7_k'") && has(bad.err, "q4_k_m")) << bad.err;
  std::remove(cfg.c_str());
}

// Without a GPU (or a CUDA build) --device cuda is a one-line error, exit 1; with one it runs there.
TEST(Cli, BenchOnCudaRunsThereOrSaysNoGpu) {
  Result r = run_cpplm("bench --device cuda -p 8 -n 4 -r 1 --no-bandwidth");
  if (r.code == 0) {
    EXPECT_NE(r.out.find("CUDA"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("| tg4 |"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("GPU memory: weights"), std::string::npos) << r.out;
    return;
  }
  std::printf("no GPU here: checked the error path\n");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("no GPU"), std::string::npos) << r.err;
}

struct BadCase {
  std::string args, needle;
};

TEST(Cli, UserErrorsAreOneLineExitTwoNothingOnStdout) {
  const std::vector<BadCase> cases = {
      {"generate --model /nonexistent/folder --prompt hi", "/nonexistent/folder"},
      {"generate --model " + std::string(CPPLM_TEST_DATA) + " --prompt hi", "config.json"},
      {"generate --top-p -0.5 --prompt hi", "--top-p"},
      {"generate --temp -1 --prompt hi", "--temp"},
      {"generate --no-such-flag --prompt hi", "no-such-flag"},
      {"generate --max-tokens many --prompt hi", "--max-tokens"},
      {"generate", "--prompt"},
      {"frobnicate", "frobnicate"},
  };
  for (const auto& c : cases) {
    Result r = run_cpplm(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << c.args;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << c.args << ": " << r.err;
    EXPECT_NE(r.err.find("--help"), std::string::npos) << c.args << ": " << r.err;
  }
}

TEST(Cli, CorruptCheckpointIsAClearErrorNotACrash) {
  const std::string dir = ::testing::TempDir() + "cpplm_corrupt";
  std::system(("rm -rf " + dir + " && mkdir -p " + dir + " && cp " + kModel + "/config.json " + dir + " && head -c 5000 " +
               kModel + "/model.safetensors > " + dir + "/model.safetensors")
                  .c_str());
  Result r = run_cpplm("generate --model " + dir + " --prompt-tokens 1,2");
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("model.safetensors"), std::string::npos) << r.err;
}

}  // namespace
