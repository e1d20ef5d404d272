// CpuModel: adapts Model::forward to the device-neutral interface.
#include "runtime/cpu_model.h"

#include "core/error.h"
#include "ops/linear.h"

namespace cpplm {

void CpuSequence::trim_to(int offset) {
  for (auto& l : cache.layers) l->trim_to(offset);
}

void CpuSequence::read_layer(int layer, std::vector<float>& k, std::vector<float>& v) const {
  const KVCache& c = *cache.layers.at(layer);
  const int n = c.offset(), kvh = c.num_kv_heads(), d = c.head_dim();
  if (n > 0 && !c.retained(0))
    throw Error("layer " + std::to_string(layer) + " keeps only its last " + std::to_string(c.max_size()) +
                " positions (a sliding window or --max-kv-size), not all " + std::to_string(n));
  k.assign(static_cast<size_t>(n) * kvh * d, 0.0f);
  v.assign(k.size(), 0.0f);
  for (int p = 0; p < n; ++p)
    for (int h = 0; h < kvh; ++h) {
      c.key(h, p, k.data() + (static_cast<size_t>(p) * kvh + h) * d);
      c.value(h, p, v.data() + (static_cast<size_t>(p) * kvh + h) * d);
    }
}

void CpuSequence::append_layer(int layer, const float* k, const float* v, int n) { cache.layers.at(layer)->append(k, v, n); }

std::unique_ptr<SequenceState> CpuModel::make_sequence(const CacheOptions& opts) {
  return std::make_unique<CpuSequence>(model_->make_cache(opts));
}

// Every other step of a single-token row (norms, RoPE, its own sequence's attention) is per row.
int CpuModel::exact_batch_rows() const { return linear_exact_rows(); }

std::vector<float> CpuModel::forward(std::span<const SequenceTokens> batch, bool all_logits) {
  std::vector<SequenceInput> in;
  in.reserve(batch.size());
  for (const SequenceTokens& s : batch) {
    auto* seq = dynamic_cast<CpuSequence*>(s.state);
    CPPLM_CHECK(seq != nullptr, "sequence state from another device");
    in.push_back({s.tokens, &seq->cache});
  }
  return model_->forward(in, all_logits);
}

}  // namespace cpplm
