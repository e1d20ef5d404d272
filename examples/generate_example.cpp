// Example: generate text with the public API only (include/cpplm/cpplm.h).
// Usage: generate_example [MODEL_DIR] [PROMPT]
#include <cpplm/cpplm.h>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "models/llama-6m-kjv-fortunes";
  const std::string prompt = argc > 2 ? argv[2] : "In the beginning God";
  try {
    auto engine = cpplm::Engine::load(dir);
    cpplm::GenerationConfig cfg;
    cfg.max_tokens = 32;
    cpplm::GenerationResult r = engine->generate(prompt, cfg, [](const std::string& text) {
      std::fputs(text.c_str(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::printf("\n[%d tokens, %.1f tokens/s, finish: %s]\n", r.generation_tokens, r.generation_tps, r.finish_reason.c_str());
    if (engine->has_chat_template()) {
      std::string rendered = engine->apply_chat_template({{"user", "Hello!"}});
      std::printf("[chat template renders %zu bytes]\n", rendered.size());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "generate_example: %s\n", e.what());
    return 1;
  }
  return 0;
}
