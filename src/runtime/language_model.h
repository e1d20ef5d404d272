// A loaded model on one device, as the generation loop sees it: the CPU Model or a GPU executor.
#pragma once
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/config.h"
#include "model/kv_pool.h"
#include "model/layer_plan.h"
#include "sampling/sampler.h"

namespace cpplm {

// Per-sequence state kept by a device (its KV caches).
class SequenceState {
 public:
  virtual ~SequenceState() = default;
  virtual int offset() const = 0;  // tokens the state holds
  // True when the state can roll back to `offset` tokens (bounded rings cannot go below what they keep).
  virtual bool can_trim_to(int offset) const = 0;
  virtual void trim_to(int offset) = 0;
  virtual size_t nbytes() const = 0;              // K/V storage allocated now
  virtual size_t bytes_per_position() const = 0;  // K/V bytes of one cached token, all layers
  virtual std::string kv_dtype() const = 0;       // "f32", "bf16", "f16", "q8"
  // The layer plan the state was made from (plan_sequence), and what its storage of layer i is:
  // tests check that every executor stores what the plan says.
  virtual const SequencePlan& plan() const = 0;
  struct LayerStorage {
    KVType type;
    int max_size, keep;
  };
  virtual LayerStorage layer_storage(int layer) const = 0;
  // Prompt cache files (runtime/prompt_cache_file.h): layer `layer`'s keys and values of positions
  // [0, offset()) as f32 [offset, kv_heads, head_dim] each (8-bit codes dequantized); and appending
  // n positions of that layout to a layer (every layer the same n, from offset() 0). Throw Error
  // where the device cannot, or a ring no longer holds every position.
  virtual void read_layer(int layer, std::vector<float>& k, std::vector<float>& v) const;
  // A hint: the sequence will hold at most `positions` tokens, so a device may allocate them at
  // once (no copies as it grows, and the memory the server budgeted for it). Growing past it works.
  // A paged state allocates the blocks of `positions` now and throws KVPoolExhausted when the pool
  // has too few.
  virtual void reserve(int /*positions*/) {}
  virtual void append_layer(int layer, const float* k, const float* v, int n);
  // Paged K/V (LanguageModel::enable_kv_pool): the pool blocks the state holds, in position order;
  // null for a state with an allocation of its own.
  virtual const BlockTable* blocks() const { return nullptr; }
  // Whether full blocks of this state may be shared (every layer unbounded: no ring overwrites them).
  virtual bool shares_blocks() const { return false; }
  // An empty paged state that shares_blocks() takes `ids` (blocks the caller holds, e.g. from
  // KVPool::lookup) as its first ids.size() blocks, full of positions computed by another sequence.
  virtual void adopt_blocks(std::span<const int32_t> ids);
};

struct SequenceTokens {
  std::span<const int32_t> tokens;
  SequenceState* state = nullptr;
};

// Thrown by a device's decode() when the logits it sampled from hold a NaN or an infinity (the
// generation loop names the step).
class NonFiniteLogits : public Error {
 public:
  NonFiniteLogits() : Error("the model produced non-finite logits (NaN/inf)") {}
};

// Whether every logit is finite; check_finite throws NonFiniteLogits unless so (before sampling from them).
inline bool all_finite(std::span<const float> logits) {
  for (float v : logits)
    if (!std::isfinite(v)) return false;
  return true;
}
inline void check_finite(std::span<const float> logits) {
  if (!all_finite(logits)) throw NonFiniteLogits();
}

// One sequence's decode step in a batch (step_batch): runs `token`, then picks `next` with
// `sampler`; with `logprobs` set, also the top `top_logprobs` of the distribution it sampled from.
struct DecodeRow {
  SequenceState* state = nullptr;
  int32_t token = 0;
  Sampler* sampler = nullptr;
  TokenLogprobs* logprobs = nullptr;
  int top_logprobs = 0;
  int32_t next = -1;        // out
  bool non_finite = false;  // out: this row's logits held a NaN or an infinity (next stays -1)
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  virtual const ModelArgs& args() const = 0;
  virtual std::string device() const = 0;  // "cpu", "cuda:0 (NVIDIA H100 ...)"
  // A new, empty sequence laid out by plan_sequence(args(), its dtype, opts). Throws Error for
  // cache options the device does not support.
  virtual std::unique_ptr<SequenceState> make_sequence(const CacheOptions& opts) = 0;
  // Paged K/V: from now on, sequences of `opts.kv_bits` keep their K/V in one pool of about `bytes`
  // (blocks of `block_size` positions in every layer; a GPU takes at most what it has free, less a
  // margin) instead of an allocation each. Returns the pool's bookkeeping, or nullptr where the
  // device has no paged K/V. Throws Error when `bytes` holds no block, or sequences of an earlier
  // pool still hold blocks.
  virtual KVPool* enable_kv_pool(size_t /*bytes*/, int /*block_size*/, const CacheOptions& /*opts*/) { return nullptr; }
  std::unique_ptr<SequenceState> new_sequence(std::optional<int> max_kv_size) { return make_sequence({max_kv_size}); }
  // Runs each sequence's new tokens, extending its state. Logits [rows, vocab] f32 on the host:
  // every new token when all_logits, else the last token of each sequence.
  virtual std::vector<float> forward(std::span<const SequenceTokens> batch, bool all_logits) = 0;
  // Fixed-shape prefill: from now on every forward() of at most `rows` tokens in all (of one or more
  // sequences) computes each token as any other such call would (its K/V and logits depend neither
  // on the call's other tokens nor on where its chunk starts), so that a prompt may resume from any
  // cached block, and chunks of several prompts share a call, with exactly the tokens of an uncached
  // run alone. Returns whether the device guarantees this for sequences of `opts` (a GPU pads such
  // chunks to `rows` rows); rows 0 turns it off.
  virtual bool fix_prefill_rows(int /*rows*/, const CacheOptions& /*opts*/) { return false; }
  // One decode step of one sequence: runs `token`, returns the next token chosen by `sampler`.
  // Devices may override to pick greedy tokens on the device and copy back one id.
  virtual int32_t decode(SequenceState& state, int32_t token, Sampler& sampler) {
    SequenceTokens in{{&token, 1}, &state};
    std::vector<float> logits = forward({&in, 1}, false);
    check_finite(logits);
    return sampler.sample(logits);
  }
  // The most single-token sequences one forward() call runs while giving each exactly the logits
  // it gets alone (the same sums in the same order). 1: rows are stepped one by one (decode()).
  virtual int exact_batch_rows() const { return 1; }
  // The most rows decode_batch() takes at once; 0 when the device has no batched decode step (rows
  // then go through step_batch's exact groups).
  virtual int max_decode_batch() const { return 0; }
  // One decode step of each row's sequence in a single batched step, which may compute differently
  // from decode() alone (a GPU's GEMMs): sets each row's `next`, or `non_finite`.
  virtual void decode_batch(std::span<DecodeRow> rows);
};

// Decode steps of several sequences. A device with a batched decode step (max_decode_batch) runs
// them through decode_batch(); otherwise they are batched as far as the device keeps each row's
// logits exactly what they are alone (exact_batch_rows), and rows that need no logits on the host
// go through the device's decode() when it steps rows one by one.
void step_batch(LanguageModel& model, std::span<DecodeRow> rows);

}  // namespace cpplm
