// DeviceSampling: the samplers' chains as the sampling kernel's rows and edits.
#include "runtime/cuda/cuda_sampling.h"

#include <algorithm>
#include <cstring>

namespace cpplm::cuda {

void DeviceSampling::clear() {
  samplers_.clear();
  rows_.clear();
  edits_.clear();
}

void DeviceSampling::add(Sampler& s, int logits_row) {
  const DeviceChain c = s.device_chain();
  SampleRow r;
  r.temp = c.temp, r.top_p = c.top_p, r.min_p = c.min_p, r.top_k = c.top_k;
  r.u = c.temp > 0.0f ? s.draw_uniform() : 0.0;
  r.logits_row = logits_row;
  r.edit_begin = static_cast<int>(edits_.size());
  for (const LogitEdit& e : c.edits) edits_.push_back({e.token, e.kind, e.value});
  r.edit_end = static_cast<int>(edits_.size());
  rows_.push_back(r);
  samplers_.push_back(&s);
}

void DeviceSampling::enqueue(const CudaContext& ctx, float* logits, int V) {
  if (rows_.empty()) return;
  // One pinned block: rows, then edits, then the tokens coming back.
  const size_t rows_b = rows_.size() * sizeof(SampleRow), edits_b = edits_.size() * sizeof(SampleEdit);
  out_at_ = (rows_b + edits_b + 15) / 16 * 16;
  const size_t bytes = out_at_ + rows_.size() * sizeof(int32_t);
  if (!host_ || host_bytes_ < bytes) {
    host_bytes_ = std::max<size_t>(bytes * 2, 4096);
    host_ = std::make_unique<PinnedBuffer>(host_bytes_);
  }
  dev_.ensure(host_bytes_);
  char* h = static_cast<char*>(host_->data());
  std::memcpy(h, rows_.data(), rows_b);
  if (edits_b) std::memcpy(h + rows_b, edits_.data(), edits_b);
  char* d = dev_.as<char>();
  copy_to_device_async(ctx, d, h, out_at_);
  sample_rows(ctx, logits, V, reinterpret_cast<const SampleRow*>(d), reinterpret_cast<const SampleEdit*>(d + rows_b), size(),
              reinterpret_cast<int32_t*>(d + out_at_));
  copy_to_host_async(ctx, h + out_at_, d + out_at_, rows_.size() * sizeof(int32_t));
}

int32_t DeviceSampling::take(int k) {
  int32_t tok;
  std::memcpy(&tok, static_cast<const char*>(host_->data()) + out_at_ + static_cast<size_t>(k) * sizeof(int32_t), sizeof(tok));
  if (tok >= 0) samplers_[k]->accept_sampled(tok);
  return tok;
}

}  // namespace cpplm::cuda
