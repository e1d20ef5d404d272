// Sampling on the device (sample.cu): the sampler chain of sampling/sampler.h for a batch of logit rows,
// so that a step copies back one token id per row instead of its logits.
#pragma once
#include <cstdint>

#include "backends/cuda/cuda_context.h"

namespace cpplm::cuda {

// One rewrite of one raw logit (sampling::LogitEdit): kind 0 adds value, 1 applies a repetition
// penalty of value (s > 0 ? s / value : s * value), 2 subtracts value. A row's edits are sorted by
// token, each token's in the order the host applies them; tokens outside [0, vocab) are skipped.
struct SampleEdit {
  int32_t token = 0;
  int32_t kind = 0;
  float value = 0.0f;
};

// One row to sample: the chain's parameters (sampling/sampler.h's order: edits, log-softmax, top-k,
// top-p, min-p, then a draw from softmax(logprobs / temp) with `u`; temp 0 is the argmax after the edits).
struct SampleRow {
  double u = 0.0;  // uniform in [0, 1)
  float temp = 0.0f, top_p = 1.0f, min_p = 0.0f;
  int top_k = 0;
  int logits_row = 0;                // which row of `logits`
  int edit_begin = 0, edit_end = 0;  // its edits in `edits`
};

// out[r] = the token drawn for rows[r] (device arrays of n rows), -1 when a logit of its row is not
// finite. Rewrites the rows' logits [V] in place (the edits). Deterministic: no atomics on floats,
// sums in a fixed order (log-softmax and the draw's cumulative sum in double, as the host; top-p's
// masses in 2^-62 fixed point).
void sample_rows(const CudaContext& ctx, float* logits, int V, const SampleRow* rows, const SampleEdit* edits, int n,
                 int32_t* out);

}  // namespace cpplm::cuda
