// The CPU Model behind the LanguageModel interface.
#pragma once
#include <memory>

#include "model/llama.h"
#include "runtime/language_model.h"

namespace cpplm {

class CpuSequence : public SequenceState {
 public:
  explicit CpuSequence(SequenceCache c) : cache(std::move(c)) {}
  int offset() const override { return cache.offset(); }
  bool can_trim_to(int offset) const override { return cache.can_trim_to(offset); }
  void trim_to(int offset) override;
  size_t nbytes() const override { return cache.nbytes(); }
  size_t bytes_per_position() const override { return cache.bytes_per_position(); }
  std::string kv_dtype() const override { return kv_type_name(cache.plan.kv_type); }
  const SequencePlan& plan() const override { return cache.plan; }
  LayerStorage layer_storage(int layer) const override {
    const KVCache& c = *cache.layers.at(layer);
    return {c.type(), c.max_size(), c.keep()};
  }
  void read_layer(int layer, std::vector<float>& k, std::vector<float>& v) const override;
  void append_layer(int layer, const float* k, const float* v, int n) override;
  void reserve(int positions) override;
  const BlockTable* blocks() const override { return cache.blocks.get(); }
  bool shares_blocks() const override;
  void adopt_blocks(std::span<const int32_t> ids) override;
  SequenceCache cache;
};

class CpuModel : public LanguageModel {
 public:
  explicit CpuModel(std::unique_ptr<Model> m) : model_(std::move(m)) {}
  const ModelArgs& args() const override { return model_->args(); }
  std::string device() const override { return "cpu"; }
  std::unique_ptr<SequenceState> make_sequence(const CacheOptions& opts) override;
  KVPool* enable_kv_pool(size_t bytes, int block_size, const CacheOptions& opts) override;
  std::vector<float> forward(std::span<const SequenceTokens> batch, bool all_logits) override;
  int exact_batch_rows() const override;
  Model& model() { return *model_; }

 private:
  std::unique_ptr<Model> model_;
  std::unique_ptr<KVPoolStorage> pool_;  // enable_kv_pool
};

}  // namespace cpplm
