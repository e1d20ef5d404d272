// libFuzzer target: arbitrary config.json text through ModelArgs, the family registry and RoPE setup.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/config.h"
#include "model/registry.h"
#include "model/rope_utils.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    cpplm::ModelArgs a = cpplm::parse_model_args(j, "fuzz/config.json");
    cpplm::resolve_model_family(a, "fuzz/config.json");
    if (a.head_dim > 4096) return 0;  // keep tables small
    cpplm::Rope rope(a, "fuzz/config.json");
    int pos[2] = {0, 37};
    std::vector<float> c(a.head_dim), s(a.head_dim);
    rope.tables(pos, 2, 38, c.data(), s.data());
  } catch (const cpplm::Error&) {}
  return 0;
}
