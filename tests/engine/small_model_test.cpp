// The bundled trained model: transformers' greedy continuations, and resident memory after loading.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/json_file.h"
#include "runtime/cpu_model.h"
#include "runtime/generate.h"

namespace cpplm {
namespace {

const std::string kModel = std::string(CPPLM_MODELS_DIR) + "/llama-6m-kjv-fortunes";

TEST(SmallModel, GreedyMatchesTransformers) {
  auto model = std::make_unique<CpuModel>(Model::load(kModel));
  auto ref = parse_json_file(kModel + "/reference.json");
  GenerateOptions opts;
  opts.max_tokens = 32;
  opts.eos_ids = model->args().eos_token_ids;
  ASSERT_EQ(opts.eos_ids, std::vector<int32_t>{9});
  int n = 0;
  for (const auto& g : ref["greedy"]) {
    std::vector<int32_t> prompt = g["prompt_ids"].get<std::vector<int32_t>>();
    std::vector<int32_t> want = g["greedy_ids"].get<std::vector<int32_t>>();
    PromptCache s;
    GenerationOutput out = generate(*model, s, prompt, opts);
    EXPECT_EQ(out.tokens, want) << g["prompt"];
    EXPECT_EQ(out.finish, want.size() < 32 ? FinishReason::Stop : FinishReason::Length);
    ++n;
  }
  EXPECT_EQ(n, 5);
}

TEST(SmallModel, PromptCacheReusesPrefix) {
  auto model = std::make_unique<CpuModel>(Model::load(kModel));
  GenerateOptions opts;
  opts.max_tokens = 8;
  std::vector<int32_t> p1 = {0, 1357, 515, 2653, 686};
  PromptCache s;
  auto a = generate(*model, s, p1, opts);
  std::vector<int32_t> p2 = p1;
  p2.insert(p2.end(), a.tokens.begin(), a.tokens.end());
  p2.push_back(515);
  auto b = generate(*model, s, p2, opts);
  EXPECT_EQ(b.stats.prompt_tokens, 2);  // only the last sampled token and the new one ran
  PromptCache fresh;
  auto c = generate(*model, fresh, p2, opts);
  EXPECT_EQ(b.tokens, c.tokens);
}

TEST(SmallModel, ResidentMemoryIsAboutTheFileSize) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "resident memory is not meaningful under AddressSanitizer (shadow memory, quarantine)";
#endif
  const size_t before = current_rss_bytes();
  auto model = Model::load(kModel);
  SequenceCache c = model->make_cache();
  std::vector<int32_t> toks = {0, 1357, 515, 2653, 686};
  SequenceInput in{toks, &c};
  model->forward({&in, 1}, false);  // touches every weight page
  const size_t grown = current_rss_bytes() - before;
  const size_t file = std::filesystem::file_size(kModel + "/model.safetensors");
  std::printf("[ memory ] model file %.2f MB, resident growth after load + forward %.2f MB\n", file / 1e6, grown / 1e6);
  EXPECT_LT(grown, file * 3 / 2);  // mmap'ed in place, not copied or upcast
}

}  // namespace
}  // namespace cpplm
