// cpplm convert: float casts and mlx affine quantization of a checkpoint folder, config and tokenizer files copied.
#include "model/convert.h"

#include <filesystem>
#include <fstream>
#include <vector>

#include "core/error.h"
#include "core/json_file.h"
#include "core/mapped_file.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "model/registry.h"
#include "ops/linear.h"
#include "ops/quantize.h"

namespace cpplm {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string torch_dtype_name(DType t) { return t == DType::BF16 ? "bfloat16" : t == DType::F16 ? "float16" : "float32"; }

Tensor cast(const std::vector<float>& v, const Shape& shape, DType t) {
  Tensor out{Buffer(v.size() * dtype_size(t)), t, shape};
  for (size_t i = 0; i < v.size(); ++i) {
    if (t == DType::F32) out.buf.as<float>()[i] = v[i];
    else if (t == DType::BF16) out.buf.as<uint16_t>()[i] = f32_to_bf16(v[i]);
    else out.buf.as<uint16_t>()[i] = f32_to_f16(v[i]);
  }
  return out;
}

}  // namespace

bool is_quantizable(const std::string& name, const Shape& shape, int group_size) {
  if (shape.size() != 2 || shape[1] % group_size != 0) return false;
  static const char* kModules[] = {"q_proj.weight",    "k_proj.weight",    "v_proj.weight",
                                   "o_proj.weight",    "gate_proj.weight", "up_proj.weight",
                                   "down_proj.weight", "lm_head.weight",   "embed_tokens.weight"};
  for (const char* m : kModules)
    if (ends_with(name, m)) return true;
  return false;
}

std::map<std::string, Tensor> convert_weights(const WeightStore& ws, const ModelArgs& a, const ConvertOptions& opts,
                                              DType* src_dtype_out) {
  if (opts.quantize && (opts.bits < 2 || opts.bits > 8 || opts.bits == 7 || opts.group_size <= 0 || opts.group_size % 32))
    throw Error("convert: --q-bits must be 2, 3, 4, 5, 6 or 8 and --q-group-size a multiple of 32");

  // A module of the source is quantized when the config says so and its scales are stored (mlx-lm).
  auto source_quant = [&](const std::string& module) -> std::optional<QuantSpec> {
    if (!a.quantization) return std::nullopt;
    if (auto it = a.quantization_overrides.find(module); it != a.quantization_overrides.end()) return it->second;
    return ws.has(module + ".scales") ? a.quantization : std::nullopt;
  };
  std::optional<DType> src_dtype;
  std::map<std::string, Tensor> out;
  const std::vector<std::string> names = ws.names();
  size_t bytes_total = 0, bytes_done = 0, tensors_done = 0;
  for (const std::string& name : names) bytes_total += ws.find(name)->nbytes();
  for (const std::string& name : names) {
    const TensorView& t = *ws.find(name);
    if (opts.progress) opts.progress(tensors_done, names.size(), bytes_done, bytes_total);
    ++tensors_done;
    bytes_done += t.nbytes();
    const std::string module = ends_with(name, ".weight") ? name.substr(0, name.size() - 7) : "";
    if ((ends_with(name, ".scales") || ends_with(name, ".biases")) && source_quant(name.substr(0, name.size() - 7)))
      continue;  // read together with its weight
    Linear l;
    Shape shape = t.shape;
    if (!module.empty() && t.dtype == DType::U32 && source_quant(module)) {
      const QuantSpec q = *source_quant(module);
      l.weight = t;
      l.scales = *ws.find(module + ".scales");
      l.biases = *ws.find(module + ".biases");
      l.bits = q.bits;
      l.group_size = q.group_size;
      shape = {t.dim(0), l.in_features()};
    } else if (t.dtype == DType::F32 || t.dtype == DType::F16 || t.dtype == DType::BF16) {
      l.weight = {t.data, t.dtype, {shape.size() == 2 ? shape[0] : 1, shape.size() == 2 ? shape[1] : t.numel()}};
    } else {
      throw Error(ws.file_of(name) + ": tensor '" + name + "': cannot convert dtype " + std::string(dtype_name(t.dtype)));
    }
    if (!src_dtype) src_dtype = l.float_dtype();
    std::vector<float> f(static_cast<size_t>(num_elements(shape)));
    dequantize(l, f.data());
    const DType dt = opts.dtype.value_or(l.float_dtype());
    if (opts.quantize && !module.empty() && is_quantizable(name, shape, opts.group_size) && (shape[1] * opts.bits) % 32 == 0) {
      const int64_t m = shape[0], k = shape[1], groups = k / opts.group_size;
      Tensor codes{Buffer(m * k * opts.bits / 8), DType::U32, {m, k * opts.bits / 32}};
      Tensor scales{Buffer(m * groups * dtype_size(dt)), dt, {m, groups}};
      Tensor biases{Buffer(m * groups * dtype_size(dt)), dt, {m, groups}};
      quantize_affine(f.data(), m, k, opts.bits, opts.group_size, dt, codes.buf.as<uint32_t>(), scales.buf.data(),
                      biases.buf.data());
      out[name] = std::move(codes);
      out[module + ".scales"] = std::move(scales);
      out[module + ".biases"] = std::move(biases);
    } else {
      out[name] = cast(f, shape, dt);
    }
  }
  if (opts.progress) opts.progress(names.size(), names.size(), bytes_total, bytes_total);
  if (src_dtype_out) *src_dtype_out = src_dtype.value_or(DType::F32);
  return out;
}

void convert_checkpoint(const std::string& in_dir, const std::string& out_dir, const ConvertOptions& opts) {
  namespace fs = std::filesystem;
  const std::string cfg = (fs::path(in_dir) / "config.json").string();
  if (!fs::exists(cfg)) throw Error(cfg + ": not found (a checkpoint folder needs config.json)");
  nlohmann::json j = parse_json_file(cfg);
  ModelArgs a = parse_model_args(j, cfg);
  resolve_model_family(a, cfg);
  WeightStore ws = WeightStore::open_dir(in_dir);
  if (fs::exists(out_dir) && fs::equivalent(in_dir, out_dir)) throw Error(out_dir + ": output folder must differ from the input");
  if (fs::exists(out_dir) && !fs::is_directory(out_dir)) throw Error(out_dir + ": exists and is not a folder");
  DType src_dtype = DType::F32;
  std::map<std::string, Tensor> out = convert_weights(ws, a, opts, &src_dtype);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) throw Error(out_dir + ": cannot create the folder (" + ec.message() + ")");
  std::map<std::string, TensorView> views;
  for (const auto& [n, t] : out) views[n] = t.view();
  save_safetensors((fs::path(out_dir) / "model.safetensors").string(), views, {{"format", "mlx"}});

  j.erase("quantization");
  j.erase("quantization_config");
  if (opts.quantize) {
    nlohmann::json q = {{"group_size", opts.group_size}, {"bits", opts.bits}, {"mode", "affine"}};
    j["quantization"] = q;
    j["quantization_config"] = q;
  }
  const std::string dt_name = torch_dtype_name(opts.dtype.value_or(src_dtype));
  if (j.contains("dtype")) j["dtype"] = dt_name;
  j["torch_dtype"] = dt_name;
  std::ofstream(fs::path(out_dir) / "config.json") << j.dump(2) << "\n";
  if (!fs::exists(fs::path(out_dir) / "config.json")) throw Error(out_dir + "/config.json: cannot write");

  // The tokenizer, chat template and generation config as they are; nothing else of the folder.
  for (const char* fname : kModelFiles) {
    const fs::path from = fs::path(in_dir) / fname;
    if (!fs::is_regular_file(from)) continue;
    fs::copy_file(from, fs::path(out_dir) / fname, fs::copy_options::overwrite_existing, ec);
    if (ec) throw Error((fs::path(out_dir) / fname).string() + ": cannot write (" + ec.message() + ")");
  }
}

}  // namespace cpplm
