// CpuModel: adapts Model::forward to the device-neutral interface.
#include "runtime/cpu_model.h"

#include <algorithm>

#include "core/error.h"
#include "ops/linear.h"

namespace cpplm {

void CpuSequence::trim_to(int offset) { cache.trim_to(offset); }

void CpuSequence::reserve(int positions) {
  if (!cache.blocks) return;
  int slots = 0;
  for (const LayerPlan& l : cache.plan.layers) slots = std::max(slots, l.max_size > 0 ? std::min(l.max_size, positions) : positions);
  const int b = cache.blocks->pool().block_size();
  cache.blocks->ensure((slots + b - 1) / b);
}

bool CpuSequence::shares_blocks() const {
  if (!cache.blocks) return false;
  for (const LayerPlan& l : cache.plan.layers)
    if (l.max_size > 0) return false;
  return true;
}

void CpuSequence::adopt_blocks(std::span<const int32_t> ids) {
  CPPLM_CHECK(shares_blocks() && offset() == 0, "adopt_blocks() needs an empty paged sequence without rings");
  cache.blocks->adopt(ids);
  for (auto& l : cache.layers) l->adopt(static_cast<int>(ids.size()) * cache.blocks->pool().block_size());
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
  SequencePlan plan = model_->plan(opts);
  const bool paged = pool_ && pool_->type() == plan.kv_type;
  return std::make_unique<CpuSequence>(model_->make_cache(std::move(plan), paged ? pool_.get() : nullptr));
}

KVPool* CpuModel::enable_kv_pool(size_t bytes, int block_size, const CacheOptions& opts) {
  if (pool_ && pool_->pool().held_blocks() > 0) throw Error("the K/V pool is in use by other sequences");
  const ModelArgs& a = model_->args();
  const KVType type = model_->plan(opts).kv_type;
  CPPLM_CHECK(block_size > 0, "a K/V block holds at least one position");
  const size_t block_bytes = static_cast<size_t>(a.num_hidden_layers) * block_size *
                             kv_row_format(type, a.head_dim).position_bytes(a.num_key_value_heads);
  const size_t blocks = bytes / block_bytes;
  if (blocks == 0)
    throw Error("a K/V budget of " + std::to_string(bytes) + " bytes holds no block of " + std::to_string(block_size) +
                " positions (" + std::to_string(block_bytes) + " bytes)");
  pool_.reset();
  pool_ = std::make_unique<KVPoolStorage>(a.num_hidden_layers, a.num_key_value_heads, a.head_dim, type,
                                          static_cast<int>(std::min<size_t>(blocks, 1u << 30)), block_size);
  return &pool_->pool();
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
