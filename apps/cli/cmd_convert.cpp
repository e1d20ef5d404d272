// `cpplm convert`: writes a checkpoint in another float dtype and/or mlx affine-quantized (mlx-lm convert).
// On a terminal, stderr shows the tensors and bytes converted so far.
#include <unistd.h>

#include <cstdio>

#include "api/tools.h"
#include "cli_util.h"
#include "commands.h"

namespace cpplm::cli {

int cmd_convert(int argc, char** argv) {
  CLI::App app{"Convert a checkpoint: cast weights and/or quantize them in mlx-lm's format", "cpplm convert"};
  tools::ConvertRequest req;
  int threads = 0;
  app.add_option("--model,-m", req.in, "input checkpoint folder")->required();
  app.add_option("--out,-o", req.out, "output folder (created)")->required();
  app.add_flag("--quantize,-q", req.quantize, "quantize Linear and embedding weights (mlx affine)");
  app.add_option("--q-bits", req.bits, "bits per weight: 2, 3, 4, 5, 6 or 8")
      ->check(CLI::IsMember({2, 3, 4, 5, 6, 8}))
      ->capture_default_str();
  app.add_option("--q-group-size", req.group_size, "weights per scale/bias group: 32, 64 or 128")
      ->check(CLI::IsMember({32, 64, 128}))
      ->capture_default_str();
  app.add_option("--dtype", req.dtype, "float dtype of the output (default: the input's)")
      ->check(CLI::IsMember({"bf16", "f16", "f32"}));
  add_threads_option(app, threads);
  return run(app, argc, argv, [&]() {
    check_model_dir(req.in, /*allow_gguf=*/false);
    tools::set_threads(threads);
    bool shown = false;
    if (isatty(STDERR_FILENO))
      req.progress = [&shown](size_t done, size_t total, size_t bytes_done, size_t bytes_total) {
        std::fprintf(stderr, "\r\033[K[%zu/%zu tensors, %.1f/%.1f MiB%s]", done, total, bytes_done / double(1 << 20),
                     bytes_total / double(1 << 20), done == total ? "; writing" : "");
        std::fflush(stderr);
        shown = true;
      };
    try {
      tools::convert(req);
    } catch (...) {
      if (shown) std::fputs("\n", stderr);  // the error starts a line of its own
      throw;
    }
    if (shown) std::fputs("\r\033[K", stderr);
    std::printf(
        "wrote %s%s\n", req.out.c_str(),
        req.quantize ? (" (" + std::to_string(req.bits) + "-bit, group " + std::to_string(req.group_size) + ")").c_str() : "");
    return 0;
  });
}

}  // namespace cpplm::cli
