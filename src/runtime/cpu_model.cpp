// CpuModel: adapts Model::forward to the device-neutral interface.
#include "runtime/cpu_model.h"

#include "core/error.h"

namespace cpplm {

bool CpuSequence::can_trim_to(int offset) const {
  if (offset > cache.offset()) return false;
  for (const auto& l : cache.layers)
    // A ring that has wrapped overwrote positions a rollback would need again.
    if (l->bounded() && offset != l->offset() && l->offset() > l->max_size()) return false;
  return true;
}

void CpuSequence::trim_to(int offset) {
  for (auto& l : cache.layers) l->trim_to(offset);
}

std::unique_ptr<SequenceState> CpuModel::make_sequence(const CacheOptions& opts) {
  KVType type = model_->default_kv_type();
  switch (opts.kv_bits) {
    case 0: break;
    case 8: type = KVType::Q8; break;
    case 16: type = type == KVType::F16 ? KVType::F16 : KVType::BF16; break;
    case 32: type = KVType::F32; break;
    default: throw Error("kv_bits " + std::to_string(opts.kv_bits) + " is not supported (0 = the model's dtype, 8, 16 or 32)");
  }
  return std::make_unique<CpuSequence>(model_->make_cache(opts.max_kv_size, type));
}

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
