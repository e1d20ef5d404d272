// Models that cannot work are stopped with a clear message: config values that give NaN or
// overflow are load errors naming the file, field and value; NaN/inf logits stop generation and
// perplexity naming the step; the context length a config sets up, and its warning.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/config.h"
#include "model/random_weights.h"
#include "model/registry.h"
#include "runtime/cpu_model.h"
#include "runtime/generate.h"
#include "runtime/perplexity.h"

namespace cpplm {
namespace {
using nlohmann::json;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// A small untied Llama: 2 layers, GQA 4/2 heads of 16, vocabulary 96.
json small_config() {
  return {{"model_type", "llama"},
          {"hidden_size", 64},
          {"num_hidden_layers", 2},
          {"intermediate_size", 128},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"vocab_size", 96},
          {"rms_norm_eps", 1e-5},
          {"rope_theta", 10000.0},
          {"max_position_embeddings", 64},
          {"tie_word_embeddings", false}};
}

ModelArgs args_of(const json& cfg) {
  ModelArgs a = parse_model_args(cfg, "ckpt/config.json");
  resolve_model_family(a, "ckpt/config.json");
  return a;
}

// Loading `cfg` fails with one line naming the file and containing every needle.
void expect_config_error(const json& cfg, std::initializer_list<std::string> needles) {
  try {
    args_of(cfg);
    ADD_FAILURE() << "expected an error for " << cfg.dump();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("ckpt/config.json: ", 0), 0u) << msg;
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

json with(json cfg, const std::string& key, const json& value) {
  cfg[key] = value;
  return cfg;
}

TEST(ConfigGuard, SmallConfigLoads) {
  const ModelArgs a = args_of(small_config());
  EXPECT_EQ(a.head_dim, 16);
  EXPECT_EQ(a.max_position_embeddings, 64);
}

TEST(ConfigGuard, RopeFactorMustBePositive) {
  for (double f : {0.0, -2.0})
    expect_config_error(
        with(small_config(), "rope_scaling", {{"rope_type", "linear"}, {"factor", f}}),
        {"field \"rope_scaling.factor\": must be a positive finite number, got " + std::string(f == 0 ? "0" : "-2")});
  expect_config_error(with(small_config(), "rope_parameters", {{"rope_type", "yarn"}, {"factor", 0}, {"rope_theta", 10000.0}}),
                      {"field \"rope_parameters.factor\"", "got 0"});
  expect_config_error(with(small_config(), "rope_scaling", {{"rope_type", "dynamic"}, {"factor", INFINITY}}),
                      {"field \"rope_scaling.factor\"", "got inf"});
  expect_config_error(
      with(small_config(), "rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 0}}),
      {"field \"rope_scaling.original_max_position_embeddings\"", "0 is out of range (1 .. 2147483647)"});
  const std::vector<double> half(8, 1.0);
  std::vector<double> zero = half;
  zero[3] = 0;
  expect_config_error(
      with(small_config(), "rope_scaling",
           {{"rope_type", "longrope"}, {"original_max_position_embeddings", 32}, {"short_factor", zero}, {"long_factor", half}}),
      {"field \"rope_scaling.short_factor\"", "got 0"});
}

TEST(ConfigGuard, RopeThetaMustBePositiveAndFinite) {
  expect_config_error(with(small_config(), "rope_theta", 0), {"field \"rope_theta\": must be a positive finite number, got 0"});
  expect_config_error(with(small_config(), "rope_theta", -10000), {"field \"rope_theta\"", "got -10000"});
  // (A file's 1e400 is refused by the JSON parser; a config built in memory can hold infinity.)
  expect_config_error(with(small_config(), "rope_theta", INFINITY), {"field \"rope_theta\"", "got inf"});
  json cfg = small_config();
  cfg.erase("rope_theta");
  cfg["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", -1.0}};
  expect_config_error(cfg, {"field \"rope_parameters.rope_theta\"", "got -1"});
  cfg["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", "ten thousand"}};
  expect_config_error(cfg, {"field \"rope_parameters.rope_theta\"", "expected a number"});
}

TEST(ConfigGuard, RmsNormEpsMustBePositiveAndFinite) {
  for (double eps : {0.0, -1e-6, static_cast<double>(INFINITY)})
    expect_config_error(with(small_config(), "rms_norm_eps", eps), {"field \"rms_norm_eps\": must be a positive finite number"});
}

TEST(ConfigGuard, SizesAreReadAs64BitsAndReportedAsGiven) {
  expect_config_error(with(small_config(), "hidden_size", int64_t{1} << 40),
                      {"field \"hidden_size\": 1099511627776 is out of range (1 .. 16777216)"});
  expect_config_error(with(small_config(), "vocab_size", std::numeric_limits<uint64_t>::max()),
                      {"field \"vocab_size\": 18446744073709551615 is out of range"});
  expect_config_error(with(small_config(), "intermediate_size", -3),
                      {"field \"intermediate_size\": -3 is out of range (1 .. 16777216)"});
  expect_config_error(with(small_config(), "num_hidden_layers", 1e20),
                      {"field \"num_hidden_layers\": 1e+20 is out of range (1 .. 4096)"});
  expect_config_error(with(small_config(), "num_attention_heads", 0), {"field \"num_attention_heads\": 0 is out of range"});
  expect_config_error(with(small_config(), "hidden_size", 64.5), {"field \"hidden_size\": expected an integer, got 64.5"});
  expect_config_error(with(small_config(), "max_position_embeddings", -1),
                      {"field \"max_position_embeddings\": -1 is out of range (0 .. 2147483647)"});
  expect_config_error(with(small_config(), "max_position_embeddings", int64_t{1} << 32), {"4294967296 is out of range"});
  expect_config_error(with(small_config(), "sliding_window", int64_t{1} << 32),
                      {"field \"sliding_window\": 4294967296 is out of range"});
  expect_config_error(with(small_config(), "eos_token_id", json::array({2, int64_t{1} << 33})),
                      {"field \"eos_token_id\"", "8589934592"});
  EXPECT_EQ(args_of(with(small_config(), "hidden_size", 64.0)).hidden_size, 64);  // integral floats still read
}

TEST(ConfigGuard, ProductsThatOverflow32BitsAreRefused) {
  json cfg = small_config();
  cfg["num_attention_heads"] = 65536;
  cfg["num_key_value_heads"] = 65536;
  cfg["head_dim"] = 16384;
  expect_config_error(cfg, {"field \"head_dim\"", "num_attention_heads 65536", "head_dim 16384", "3221225472 overflows 32 bits"});
}

TEST(ConfigGuard, HeadsMustDivide) {
  expect_config_error(with(small_config(), "num_key_value_heads", 3),
                      {"field \"num_key_value_heads\": 3 does not divide num_attention_heads 4"});
  // Absent, head_dim is hidden_size // num_attention_heads, floored as transformers does.
  EXPECT_EQ(args_of(with(small_config(), "hidden_size", 66)).head_dim, 16);
  EXPECT_EQ(args_of(with(with(small_config(), "hidden_size", 66), "head_dim", 16)).head_dim, 16);  // given: no rule
  expect_config_error(with(small_config(), "head_dim", 15), {"field \"head_dim\": must be even for RoPE", "got 15"});
}

TEST(ConfigGuard, LoadNamesTheConfigFile) {
  const std::string dir = ::testing::TempDir() + "cpplm_config_guard_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json") << with(small_config(), "rope_theta", 0).dump();
  try {
    load_model_args(dir + "/config.json");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir + "/config.json: field \"rope_theta\": must be a positive finite number, got 0");
  }
  std::ofstream(dir + "/config.json") << R"({"model_type": "llama", "rope_theta": 1e400})";
  try {
    load_model_args(dir + "/config.json");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/config.json: invalid JSON: "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1e400"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

// ---- non-finite logits ----

std::unique_ptr<CpuModel> tiny_model(const std::function<void(std::map<std::string, Tensor>&, const ModelArgs&)>& edit = {}) {
  const ModelArgs a = args_of(small_config());
  auto w = random_weights(a, DType::F32, 0, 0, 7);
  if (edit) edit(w, a);
  return std::make_unique<CpuModel>(Model::from_tensors(a, std::move(w)));
}

// The message of the Error that `f` throws ("" when none).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(NonFiniteLogits, PrefillNaNStopsAtStepOne) {
  auto m = tiny_model([](auto& w, const ModelArgs&) { w.at("model.norm.weight").buf.template as<float>()[5] = kNaN; });
  const std::vector<int32_t> prompt = {1, 2, 3, 4};
  GenerateOptions opts;
  opts.max_tokens = 8;
  PromptCache s;
  const std::string msg = error_of([&] { generate(*m, s, prompt, opts); });
  EXPECT_EQ(msg.rfind("generation step 1 (position 3): the model produced non-finite logits (NaN/inf)", 0), 0u) << msg;
  EXPECT_FALSE(s.state) << "a prompt cache whose K/V produced NaN is not kept";
}

TEST(NonFiniteLogits, InfiniteWeightStopsToo) {
  auto m = tiny_model([](auto& w, const ModelArgs&) { w.at("lm_head.weight").buf.template as<float>()[0] = INFINITY; });
  const std::vector<int32_t> prompt = {1, 2, 3};
  PromptCache s;
  const std::string msg = error_of([&] { generate(*m, s, prompt, GenerateOptions{}); });
  EXPECT_NE(msg.find("generation step 1 (position 2): the model produced non-finite logits"), std::string::npos) << msg;
}

// A NaN that appears mid-generation: the embedding row of the first generated token (untied, so
// the prefill's logits are finite) is NaN, so the step that runs that token fails: step 2.
TEST(NonFiniteLogits, DecodeNaNNamesTheStep) {
  auto clean = tiny_model();
  GenerateOptions opts;
  opts.max_tokens = 6;
  std::vector<int32_t> prompt;
  int32_t first = -1;
  for (int32_t base = 1; base < 90 && first < 0; base += 3) {
    prompt = {base, base + 1, base + 2};
    PromptCache s;
    const int32_t t = generate(*clean, s, prompt, opts).tokens.at(0);
    if (std::find(prompt.begin(), prompt.end(), t) == prompt.end()) first = t;
  }
  ASSERT_GE(first, 0) << "no prompt whose first generated token is new";
  auto bad = tiny_model([&](auto& w, const ModelArgs& a) {
    w.at("model.embed_tokens.weight").buf.template as<float>()[static_cast<size_t>(first) * a.hidden_size] = kNaN;
  });
  // Greedy, and the sampler's temperature path (top-k 1 keeps the token the same).
  for (float temp : {0.0f, 1.0f}) {
    opts.sampling.temp = temp;
    opts.sampling.top_k = temp > 0 ? 1 : 0;
    PromptCache s;
    const std::string msg = error_of([&] { generate(*bad, s, prompt, opts); });
    EXPECT_EQ(msg.rfind("generation step 2 (position 3): the model produced non-finite logits (NaN/inf)", 0), 0u)
        << "temp " << temp << ": " << msg;
  }
  // The tokens before it were delivered as usual.
  std::vector<int32_t> seen;
  PromptCache s;
  opts.sampling.temp = 0;
  opts.sampling.top_k = 0;
  EXPECT_THROW(generate(*bad, s, prompt, opts, [&](int32_t t) { return seen.push_back(t), true; }), Error);
  EXPECT_EQ(seen, std::vector<int32_t>{first});
}

TEST(NonFiniteLogits, PerplexityNamesTheWindow) {
  auto m = tiny_model([](auto& w, const ModelArgs& a) {
    w.at("model.embed_tokens.weight").buf.template as<float>()[static_cast<size_t>(40) * a.hidden_size] = kNaN;
  });
  std::vector<int32_t> ids = {5, 6, 7, 8, 9, 10, 40, 11};
  const std::string msg = error_of([&] { perplexity(*m, ids, 1, 5); });
  EXPECT_NE(msg.find("perplexity window 2 (position 3): the model produced non-finite logits"), std::string::npos) << msg;
}

// ---- context length ----

TEST(ContextLength, FollowsTheRopeScaling) {
  json cfg = small_config();
  cfg["max_position_embeddings"] = 4096;
  EXPECT_EQ(context_length(args_of(cfg)), 4096);
  EXPECT_EQ(context_length(args_of(with(cfg, "max_position_embeddings", 0))), 0);  // unknown: no limit
  EXPECT_EQ(context_length(args_of(with(cfg, "rope_scaling", {{"rope_type", "linear"}, {"factor", 4.0}}))), 16384);
  EXPECT_EQ(context_length(args_of(with(cfg, "rope_scaling", {{"rope_type", "dynamic"}, {"factor", 2.0}}))), 0);
  EXPECT_EQ(context_length(args_of(with(cfg, "rope_scaling", {{"rope_type", "yarn"}, {"factor", 2.0}}))), 8192);
  EXPECT_EQ(context_length(args_of(
                with(cfg, "rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 4096}}))),
            16384);
  EXPECT_EQ(context_length(args_of(with(cfg, "rope_scaling",
                                        {{"rope_type", "llama3"}, {"factor", 8.0}, {"original_max_position_embeddings", 1024}}))),
            4096);
}

TEST(ContextLength, WarningNamesBothNumbersAndTheRemedy) {
  json cfg = small_config();
  cfg["max_position_embeddings"] = 1024;
  const ModelArgs a = args_of(cfg);
  EXPECT_EQ(context_warning(a, "prompt (1000 tokens) + max tokens (24)", 1024), "");
  EXPECT_EQ(context_warning(a, "prompt (5613 tokens) + max tokens (256)", 5869),
            "prompt (5613 tokens) + max tokens (256) exceed the model's max_position_embeddings (1024); quality degrades past "
            "it (a rope_scaling such as \"dynamic\" or \"yarn\" in config.json would extend it)");
  const std::string linear = context_warning(args_of(with(cfg, "rope_scaling", {{"rope_type", "linear"}, {"factor", 2.0}})),
                                             "prompt (3000 tokens)", 3000);
  EXPECT_NE(linear.find("exceed the model's context of 2048 positions (max_position_embeddings 1024 stretched by its \"linear\" "
                        "rope_scaling, factor 2)"),
            std::string::npos)
      << linear;
  EXPECT_EQ(context_warning(args_of(with(cfg, "rope_scaling", {{"rope_type", "dynamic"}, {"factor", 2.0}})), "x", 1 << 20), "");
}

}  // namespace
}  // namespace cpplm
