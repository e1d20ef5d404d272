// The decode step's attention plan (attention_decode.cu): split count and block size for a cache
// capacity, fixed while a graph replays the step. Host logic without CUDA headers, so that tests
// check it on machines without a GPU.
#pragma once
#include "core/dtype.h"

namespace cpplm::cuda {

// AttnArgs::splits, ::warps, ::head_groups and ::merge_later for a decode step over `capacity`
// cache positions on a card with num_sms multiprocessors. merge_later: the o_proj GEMV merges the
// splits as it stages its input (few splits of a small model: every SM reads all partials, but the
// attention kernel's last-block merge, a chain of dependent round trips, is gone); only when
// o_proj_merges (its weights take the GEMV path that can: float formats).
struct DecodePlan {
  int splits, warps;
  int head_groups = 1;
  bool merge_later = false;
  bool mma = false;  // the key loop on tensor cores (AttnArgs::mma), 4 warps
};
// tc_min_capacity: the tensor-core loop from this capacity on where the cache allows it (< 0: never).
DecodePlan attention_decode_plan(int capacity, int head_dim, int num_heads, int num_kv_heads, DType kv_type, int num_sms,
                                 bool o_proj_merges, int tc_min_capacity = -1);
// The splits of one sequence of a batched decode step (DecodeSeq::splits; 4 warps, merged in the
// attention kernel) that attends to `keys` positions, split_keys (CudaOptions::decode_batch_split_keys)
// a split: a function of its own length alone, so that its result does not depend on the other
// sequences of the batch.
int attention_decode_batch_splits(int keys, int split_keys);

}  // namespace cpplm::cuda
