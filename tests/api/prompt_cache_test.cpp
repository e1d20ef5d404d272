// Prompt cache files through the public API (Engine::save_prompt_cache, generate_from_prompt_cache):
// generation from a saved prompt gives the tokens of running the whole prompt, and bad files,
// files of another model and prompts that do not extend the cache get clear errors.
#include <gtest/gtest.h>

#include <cpplm/cpplm.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace {

const std::string kModel = std::string(CPPLM_MODELS_DIR) + "/llama-6m-kjv-fortunes";

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("cpplm_pc_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(PromptCache, GenerationFromTheFileMatchesTheWholePrompt) {
  cpplm::LoadOptions lo;
  lo.device = "cpu";
  auto e = cpplm::Engine::load(kModel, lo);
  const std::vector<int32_t> head = e->encode("In the beginning God created the heaven", true);
  std::vector<int32_t> whole = head;
  for (int32_t t : e->encode(" and the earth. And the earth was", false)) whole.push_back(t);
  cpplm::GenerationConfig cfg;
  cfg.max_tokens = 24;
  for (int kv_bits : {0, 8}) {
    cfg.kv_bits = kv_bits;
    const std::string path = temp_path(kv_bits ? "a8" : "a0");
    e->save_prompt_cache(path, head, cfg);
    EXPECT_EQ(e->prompt_cache_tokens(path), head);
    const cpplm::GenerationResult from_file = e->generate_from_prompt_cache(path, whole, cfg);
    const cpplm::GenerationResult fresh = e->generate_tokens(whole, cfg);
    EXPECT_EQ(from_file.tokens, fresh.tokens) << "kv_bits " << kv_bits;
    EXPECT_EQ(from_file.prompt_tokens, static_cast<int>(whole.size() - head.size()));  // only the new tokens ran
    // The cached prompt alone: its last token runs again to give the first logits.
    EXPECT_EQ(e->generate_from_prompt_cache(path, head, cfg).tokens, e->generate_tokens(head, cfg).tokens);
    std::filesystem::remove(path);
  }
}

TEST(PromptCache, ClearErrors) {
  cpplm::LoadOptions lo;
  lo.device = "cpu";
  auto e = cpplm::Engine::load(kModel, lo);
  cpplm::GenerationConfig cfg;
  const std::vector<int32_t> head = e->encode("In the beginning", true);
  const std::string path = temp_path("b");
  e->save_prompt_cache(path, head, cfg);
  // A prompt that does not start with the cached tokens.
  std::vector<int32_t> other = e->encode("Blessed are", true);
  EXPECT_NE(error_of([&] { e->generate_from_prompt_cache(path, other, cfg); }).find("does not begin with"), std::string::npos);
  // Not a prompt cache: the model's own weights (safetensors without the metadata), a text file, a missing file.
  EXPECT_NE(error_of([&] { e->prompt_cache_tokens(kModel + "/model.safetensors"); }).find("not a prompt cache file"),
            std::string::npos);
  EXPECT_NE(error_of([&] { e->prompt_cache_tokens(kModel + "/config.json"); }).find("config.json"), std::string::npos);
  EXPECT_NE(error_of([&] { e->prompt_cache_tokens(path + ".missing"); }).find(".missing"), std::string::npos);
  // A truncated file.
  {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(path + ".cut", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  EXPECT_NE(error_of([&] { e->generate_from_prompt_cache(path + ".cut", head, cfg); }).find(".cut"), std::string::npos);
  // A ring smaller than the prompt cannot be saved.
  cfg.max_kv_size = 2;
  EXPECT_NE(error_of([&] { e->save_prompt_cache(path + ".ring", head, cfg); }).find("keeps only its last"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path + ".ring"));
  // An unwritable path.
  cfg.max_kv_size.reset();
  EXPECT_NE(error_of([&] { e->save_prompt_cache("/nonexistent-dir/x.safetensors", head, cfg); }).find("/nonexistent-dir"),
            std::string::npos);
  for (const char* suffix : {"", ".cut"}) std::filesystem::remove(path + suffix);
}

}  // namespace
