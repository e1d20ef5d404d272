// Prompt cache files on the GPU (CudaSequence::read_layer / append_layer): a prompt saved from the
// GPU or the CPU and loaded on the GPU continues with the tokens of running it there, for every
// K/V storage the GPU keeps. Skipped with "skipped: no GPU" without a GPU.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "cuda_test_util.h"
#include "model/llama.h"
#include "runtime/cpu_model.h"
#include "runtime/prompt_cache_file.h"
#include "sampling/sampler.h"

namespace cpplm {
namespace {

std::vector<int32_t> greedy(LanguageModel& m, SequenceState& s, int32_t first, int n) {
  Sampler sampler(SamplingParams{});
  std::vector<int32_t> out{first};
  for (int i = 0; i < n; ++i) out.push_back(m.decode(s, out.back(), sampler));
  return out;
}

TEST(CudaPromptCache, SavedAndLoadedSequencesContinueAlike) {
  SKIP_WITHOUT_GPU();
  auto cpu = std::make_unique<CpuModel>(Model::load(models_dir() + "/llama-6m-kjv-fortunes"));
  auto gpu = make_cuda_model(cpu->model());
  const int V = gpu->args().vocab_size;
  std::vector<int32_t> prompt;
  for (int i = 0; i < 37; ++i) prompt.push_back((i * 131 + 7) % V);
  const std::string path = (std::filesystem::temp_directory_path() / "cpplm_cuda_pc.safetensors").string();
  for (int kv_bits : {0, 8, 32}) {
    for (LanguageModel* saver : {static_cast<LanguageModel*>(gpu.get()), static_cast<LanguageModel*>(cpu.get())}) {
      PromptCache pc;
      pc.state = saver->make_sequence({std::nullopt, kv_bits});
      SequenceTokens in{prompt, pc.state.get()};
      saver->forward({&in, 1}, false);
      pc.tokens = prompt;
      save_prompt_cache(path, *saver, pc);
      // The loaded GPU sequence against one that ran the prompt on the GPU.
      PromptCache loaded = load_prompt_cache(path, *gpu, {std::nullopt, kv_bits});
      ASSERT_EQ(loaded.tokens, prompt);
      ASSERT_EQ(loaded.state->offset(), static_cast<int>(prompt.size()));
      auto ran = gpu->make_sequence({std::nullopt, kv_bits});
      SequenceTokens in2{prompt, ran.get()};
      gpu->forward({&in2, 1}, false);
      // Read back: what the GPU holds after loading equals what it holds after running (same storage).
      if (saver == gpu.get()) {
        std::vector<float> k1, v1, k2, v2;
        for (int li = 0; li < gpu->args().num_hidden_layers; ++li) {
          loaded.state->read_layer(li, k1, v1);
          ran->read_layer(li, k2, v2);
          if (kv_bits != 8) {  // 8-bit: requantized from dequantized values
            EXPECT_EQ(k1, k2) << "layer " << li;
          }
        }
      }
      const auto a = greedy(*gpu, *loaded.state, 5, 16), b = greedy(*gpu, *ran, 5, 16);
      int differ = 0;
      for (size_t i = 0; i < a.size(); ++i) differ += a[i] != b[i];
      std::printf("[ kv_bits %d, saved on the %s ] %d of 16 greedy tokens differ from running the prompt on the GPU\n", kv_bits,
                  saver == gpu.get() ? "GPU" : "CPU", differ);
      if (saver == gpu.get() && kv_bits != 8) {
        EXPECT_EQ(differ, 0);
      }
    }
  }
  std::filesystem::remove(path);
}

// A ring smaller than the cached prompt is refused with a message naming the layer and sizes.
TEST(CudaPromptCache, RingTooSmall) {
  SKIP_WITHOUT_GPU();
  auto gpu = make_cuda_model(*Model::load(models_dir() + "/llama-6m-kjv-fortunes"));
  auto s = gpu->make_sequence({4, 0});
  std::vector<float> k(8 * gpu->args().num_key_value_heads * gpu->args().head_dim, 0.5f);
  EXPECT_THROW(s->append_layer(0, k.data(), k.data(), 8), Error);
}

}  // namespace
}  // namespace cpplm
