// Picks the device for a checkpoint and loads it there (the one place that decides the backend).
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "runtime/language_model.h"

namespace cpplm {

// device: "cpu", "cuda" or "auto" (cuda when built with CUDA and a GPU is present, else cpu).
// Throws Error for "cuda" on a build or machine without it.
// progress(done, total): bytes of weights copied to the GPU.
std::unique_ptr<LanguageModel> load_language_model(const std::string& dir, const std::string& device,
                                                   const std::function<void(size_t, size_t)>& progress = {});

// True when this build has CUDA and a GPU is visible.
bool cuda_available();

}  // namespace cpplm
