// `cpplm convert`: writes a checkpoint in another float dtype and/or mlx affine-quantized (mlx-lm convert).
#include <cstdio>

#include "cli_util.h"
#include "commands.h"
#include "model/convert.h"

namespace cpplm::cli {

int cmd_convert(int argc, char** argv) {
  CLI::App app{"Convert a checkpoint: cast weights and/or quantize them in mlx-lm's format", "cpplm convert"};
  std::string in, out, dtype;
  ConvertOptions opts;
  int threads = 0;
  app.add_option("--model,-m", in, "input checkpoint folder")->required();
  app.add_option("--out,-o", out, "output folder (created)")->required();
  app.add_flag("--quantize,-q", opts.quantize, "quantize Linear and embedding weights (mlx affine)");
  app.add_option("--q-bits", opts.bits, "bits per weight: 2, 3, 4, 5, 6 or 8")->check(CLI::IsMember({2, 3, 4, 5, 6, 8}))->capture_default_str();
  app.add_option("--q-group-size", opts.group_size, "weights per scale/bias group: 32, 64 or 128")
      ->check(CLI::IsMember({32, 64, 128}))->capture_default_str();
  app.add_option("--dtype", dtype, "float dtype of the output (default: the input's)")->check(CLI::IsMember({"bf16", "f16", "f32"}));
  app.add_option("--threads,-t", threads, "CPU threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  return run(app, argc, argv, [&]() {
    set_threads(threads);
    if (!dtype.empty()) opts.dtype = dtype == "bf16" ? DType::BF16 : dtype == "f16" ? DType::F16 : DType::F32;
    convert_checkpoint(in, out, opts);
    std::printf("wrote %s%s\n", out.c_str(),
                opts.quantize ? (" (" + std::to_string(opts.bits) + "-bit, group " + std::to_string(opts.group_size) + ")").c_str() : "");
    return 0;
  });
}

}  // namespace cpplm::cli
