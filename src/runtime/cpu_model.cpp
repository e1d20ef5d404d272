// CpuModel: adapts Model::forward to the device-neutral interface.
#include "runtime/cpu_model.h"

#include "core/error.h"
#include "ops/linear.h"

namespace cpplm {

void CpuSequence::trim_to(int offset) {
  for (auto& l : cache.layers) l->trim_to(offset);
}

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
