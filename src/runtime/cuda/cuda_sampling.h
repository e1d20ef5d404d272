// Rows of a step sampled on the device (backends/cuda/sample.h): each row's sampler chain packed for
// the kernel, one upload, one launch, and the tokens copied back; the samplers then accept them.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/device_ops.h"
#include "backends/cuda/sample.h"
#include "sampling/sampler.h"

namespace cpplm::cuda {

// Used for rows that are not plain greedy (those take the step's argmax) and report no log-probabilities
// (those come from the host's copy of the logits), when CudaOptions::device_sampling is on.
class DeviceSampling {
 public:
  void clear();
  // Adds `s`'s chain for logits row `logits_row` (drawing its uniform when it samples).
  void add(Sampler& s, int logits_row);
  int size() const { return static_cast<int>(rows_.size()); }
  // Enqueues the upload, the kernel over `logits` [rows, V] (edited in place) and the tokens' copy back.
  void enqueue(const CudaContext& ctx, float* logits, int V);
  // After the stream synchronized: row k's token, or -1 when its logits were not finite. Accepts a
  // token into its sampler (as generated).
  int32_t take(int k);

 private:
  std::vector<Sampler*> samplers_;
  std::vector<SampleRow> rows_;
  std::vector<SampleEdit> edits_;
  std::unique_ptr<PinnedBuffer> host_;
  size_t host_bytes_ = 0, out_at_ = 0;  // the pinned block's size, and where the tokens come back in it
  DeviceBuffer dev_;
};

}  // namespace cpplm::cuda
