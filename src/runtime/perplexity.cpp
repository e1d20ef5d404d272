// Windowed perplexity (the method of the bundled model's reference.json).
#include "runtime/perplexity.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace cpplm {

PerplexityResult perplexity(LanguageModel& model, std::span<const int32_t> ids, int32_t bos, int window,
                            const std::function<void(int, int)>& progress) {
  if (window < 2) throw Error("perplexity: the context must be at least 2 tokens, got " + std::to_string(window));
  if (ids.empty()) throw Error("perplexity: the text has no tokens");
  const int step = window - 1;
  const int total = static_cast<int>((ids.size() + step - 1) / step);
  const int vocab = model.args().vocab_size;
  PerplexityResult r;
  double nll = 0;
  for (size_t s = 0; s < ids.size(); s += step) {
    std::vector<int32_t> chunk = {bos};
    chunk.insert(chunk.end(), ids.begin() + s, ids.begin() + std::min(ids.size(), s + step));
    auto state = model.new_sequence(std::nullopt);
    SequenceTokens in{chunk, state.get()};
    const std::vector<float> logits = model.forward({&in, 1}, /*all_logits=*/true);
    for (size_t t = 0; t + 1 < chunk.size(); ++t) {
      const float* row = logits.data() + t * vocab;
      const float m = *std::max_element(row, row + vocab);
      double sum = 0;
      for (int v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(row[v]) - m);
      const double token_nll = (m + std::log(sum)) - row[chunk[t + 1]];
      if (!std::isfinite(token_nll))  // a NaN or infinite logit: the forward pass broke down
        throw Error("perplexity window " + std::to_string(r.windows + 1) + " (position " + std::to_string(t) +
                    "): the model produced non-finite logits (NaN/inf); its weights hold NaN/inf or its activations "
                    "overflowed (check the checkpoint's tensors, dtype and config.json)");
      nll += token_nll;
      ++r.tokens_scored;
    }
    ++r.windows;
    if (progress) progress(r.windows, total);
  }
  r.mean_nll = nll / r.tokens_scored;
  r.perplexity = std::exp(r.mean_nll);
  return r;
}

}  // namespace cpplm
