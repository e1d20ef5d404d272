// Perplexity of a token sequence in non-overlapping windows, each starting with BOS.
#pragma once
#include <functional>
#include <span>

#include "runtime/language_model.h"

namespace cpplm {

struct PerplexityResult {
  double perplexity = 0;
  double mean_nll = 0;
  int tokens_scored = 0;
  int windows = 0;
};

// Windows are [bos] + ids[s : s + window - 1] for s = 0, window-1, 2(window-1), ...; each is
// scored on its own (fresh cache), every token after the first predicted. `progress(done, total)`
// is called after each window. Throws Error naming the window when a logit is NaN or infinite.
PerplexityResult perplexity(LanguageModel& model, std::span<const int32_t> ids, int32_t bos, int window,
                            const std::function<void(int, int)>& progress = {});

}  // namespace cpplm
