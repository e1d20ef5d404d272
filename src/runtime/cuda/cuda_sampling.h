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

class DeviceSampling {
 public:
  // Rows the device samples: anything but plain greedy (the step's argmax), without log-probabilities
  // (those are reported from the host's copy of the logits). CPPLM_DEVICE_SAMPLING=0 turns it off.
  static bool enabled();
  static bool wanted(const Sampler& s, bool logprobs) { return enabled() && !s.plain_greedy() && !logprobs; }

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
  size_t host_bytes_ = 0;
  DeviceBuffer dev_;
};

}  // namespace cpplm::cuda
