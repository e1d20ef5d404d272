// Model families: every supported model_type maps onto the Llama graph (mlx-lm MODEL_REMAPPING).
#pragma once
#include <string>
#include <vector>

#include "io/config.h"

namespace cpplm {

// Checks model_type, fills family-specific settings (layer_types) and validates them.
// Throws Error naming `source` and the field for unknown model types or inconsistent layouts.
void resolve_model_family(ModelArgs& args, const std::string& source);

std::vector<std::string> supported_model_types();

}  // namespace cpplm
