// libFuzzer target: arbitrary bytes as a GGUF file must parse or throw Error, never crash; on success every value and tensor byte
// is read.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "io/gguf.h"

namespace {

size_t walk(const cpplm::GgufValue& v) {
  using cpplm::GgufType;
  if (!v.is_array()) {
    if (v.type() == GgufType::STRING) return v.as_string().size();
    if (v.type() == GgufType::BOOL) return v.as_bool();
    return static_cast<size_t>(v.as_f64() != 0);
  }
  size_t sum = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    switch (v.elem_type()) {
      case GgufType::STRING: sum += v.string_at(i).size(); break;
      case GgufType::ARRAY: sum += walk(v.array_at(i)); break;
      case GgufType::BOOL: sum += v.bool_at(i); break;
      default: sum += static_cast<size_t>(v.float_at(i) != 0);
    }
  }
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    cpplm::GgufFile f = cpplm::GgufFile::from_bytes(data, size, "fuzz.gguf");
    size_t sum = 0;
    for (const auto& [key, v] : f.metadata()) sum += key.size() + walk(v);
    for (const auto& t : f.tensors()) {  // touch every byte a tensor claims
      for (uint64_t i = 0; i < t.nbytes; ++i) sum += t.data[i];
      if (f.find_tensor(t.name) != &t) __builtin_trap();
    }
    volatile size_t sink = sum;
    (void)sink;
  } catch (const cpplm::Error&) {}
  return 0;
}
