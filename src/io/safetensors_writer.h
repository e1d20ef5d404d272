// Writing safetensors files (convert, tests): header JSON padded to 8 bytes, tensors in name order.
#pragma once
#include <map>
#include <string>

#include "core/tensor.h"

namespace cpplm {

// Writes `tensors` (contiguous views) to `path`; throws Error naming the path on I/O failure.
void save_safetensors(const std::string& path, const std::map<std::string, TensorView>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace cpplm
