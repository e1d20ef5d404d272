// step_batch: decode steps of several sequences at once, grouped so that no row's logits change.
#include <algorithm>
#include <vector>

#include "runtime/language_model.h"

namespace cpplm {

void step_batch(LanguageModel& model, std::span<DecodeRow> rows) {
  if (const size_t most = static_cast<size_t>(model.max_decode_batch()); most >= 1) {
    for (size_t i = 0; i < rows.size(); i += most) model.decode_batch(rows.subspan(i, std::min(most, rows.size() - i)));
    return;
  }
  const int group = std::max(1, model.exact_batch_rows());
  std::vector<DecodeRow*> host;  // rows whose logits come to the host through forward()
  for (DecodeRow& r : rows) {
    if (group == 1 && r.logprobs == nullptr) {
      try {
        r.next = model.decode(*r.state, r.token, *r.sampler);
      } catch (const NonFiniteLogits&) {
        r.non_finite = true;
      }
    } else {
      host.push_back(&r);
    }
  }
  const size_t V = static_cast<size_t>(model.args().vocab_size);
  for (size_t i = 0; i < host.size(); i += group) {
    const size_t n = std::min(host.size() - i, static_cast<size_t>(group));
    std::vector<SequenceTokens> in(n);
    for (size_t j = 0; j < n; ++j) in[j] = {{&host[i + j]->token, 1}, host[i + j]->state};
    std::vector<float> logits = model.forward(in, /*all_logits=*/false);
    for (size_t j = 0; j < n; ++j) {
      DecodeRow& r = *host[i + j];
      std::span<float> row(logits.data() + j * V, V);
      try {
        check_finite(row);
        r.next = r.sampler->sample(row, r.logprobs, r.top_logprobs);
      } catch (const NonFiniteLogits&) {
        r.non_finite = true;
      }
    }
  }
}

}  // namespace cpplm
