// A program using only cpplm's public API: loads a model, generates a few tokens, prints them.
#include <cpplm/cpplm.h>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: consumer MODEL_DIR\n");
    return 2;
  }
  try {
    auto engine = cpplm::Engine::load(argv[1]);
    cpplm::GenerationConfig cfg;
    cfg.max_tokens = 8;
    cpplm::GenerationResult r = engine->generate("In the beginning God", cfg);
    std::printf("cpplm %s generated %d tokens: %s\n", cpplm::version(), r.generation_tokens, r.text.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
  return 0;
}
