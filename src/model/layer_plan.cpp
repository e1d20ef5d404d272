// plan_sequence: the per-layer attention and K/V cache settings (layer_plan.h).
#include "model/layer_plan.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace cpplm {

KVType kv_storage(int kv_bits, DType model_dtype) {
  switch (kv_bits) {
    case 0:  // the dtype the model computes in, as mlx-lm's KVCache keeps it
      return model_dtype == DType::BF16 ? KVType::BF16 : model_dtype == DType::F16 ? KVType::F16 : KVType::F32;
    case 8: return KVType::Q8;
    case 16: return model_dtype == DType::F16 ? KVType::F16 : KVType::BF16;
    case 32: return KVType::F32;
    default: throw Error("kv_bits " + std::to_string(kv_bits) + " is not supported (0 = the model's dtype, 8, 16 or 32)");
  }
}

SequencePlan plan_sequence(const ModelArgs& args, DType model_dtype, const CacheOptions& opts) {
  if (opts.max_kv_size && *opts.max_kv_size < 1)
    throw Error("max_kv_size must be at least 1, got " + std::to_string(*opts.max_kv_size));
  CPPLM_CHECK(static_cast<int>(args.layer_types.size()) == args.num_hidden_layers, "layer_types must be resolved");
  SequencePlan p;
  p.kv_type = kv_storage(opts.kv_bits, model_dtype);
  p.layers.resize(args.num_hidden_layers);
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(args.head_dim)));
  for (int i = 0; i < args.num_hidden_layers; ++i) {
    LayerPlan& l = p.layers[i];
    l.scale = scale;
    if (args.is_sliding(i)) {
      l.sliding_window = *args.sliding_window;
      l.max_size = opts.max_kv_size ? std::min(l.sliding_window, *opts.max_kv_size) : l.sliding_window;
    } else if (opts.max_kv_size) {
      l.max_size = *opts.max_kv_size;
      l.keep = l.max_size > 8 ? 4 : 0;
    }
    // A ring keeps the last max_size - keep positions besides its sinks: no query may see further.
    l.window = l.max_size > 0 ? l.max_size - l.keep : 0;
    if (l.sliding_window > 0) l.window = std::min(l.window, l.sliding_window);
  }
  return p;
}

}  // namespace cpplm
