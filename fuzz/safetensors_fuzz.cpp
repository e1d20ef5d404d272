// libFuzzer target: arbitrary bytes as a safetensors file must parse or throw Error, never crash.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    cpplm::ParsedSafetensors p = cpplm::parse_safetensors(data, size, "fuzz.safetensors");
    size_t sum = 0;
    for (const auto& [name, t] : p.tensors) {  // touch every byte a view claims
      const uint8_t* b = static_cast<const uint8_t*>(t.data);
      for (size_t i = 0; i < t.nbytes(); ++i) sum += b[i];
    }
    (void)sum;
  } catch (const cpplm::Error&) {}
  return 0;
}
