// The tools API (tools.h): conversion, utilities and the bench models over the internal layers.
#include "api/tools.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>

#include "api/loaded_model.h"
#include "api/model_factory.h"
#include "backends/cpu/cpu_features.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/json_file.h"
#include "io/gguf.h"
#include "model/convert.h"
#include "model/llama.h"
#include "model/random_weights.h"
#include "model/registry.h"
#include "ops/memory_bandwidth.h"
#include "runtime/cpu_model.h"
#include "runtime/generate.h"
#include "runtime/threads.h"
#ifdef CPPLM_HAVE_CUDA
#include "runtime/cuda/cuda_model.h"
#endif

namespace cpplm::tools {
namespace {

// Published configs (Hugging Face meta-llama/*): the fields the graph needs.
struct Shape {
  const char* name;
  const char* config;
};
constexpr Shape kShapes[] = {
    {"llama-3.2-1b", R"({"model_type":"llama","hidden_size":2048,"num_hidden_layers":16,"intermediate_size":8192,
      "num_attention_heads":32,"num_key_value_heads":8,"head_dim":64,"vocab_size":128256,"rms_norm_eps":1e-5,
      "rope_theta":500000.0,"max_position_embeddings":131072,"tie_word_embeddings":true,
      "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}})"},
    {"llama-3.2-3b", R"({"model_type":"llama","hidden_size":3072,"num_hidden_layers":28,"intermediate_size":8192,
      "num_attention_heads":24,"num_key_value_heads":8,"head_dim":128,"vocab_size":128256,"rms_norm_eps":1e-5,
      "rope_theta":500000.0,"max_position_embeddings":131072,"tie_word_embeddings":true,
      "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}})"},
    {"llama-3.1-8b", R"({"model_type":"llama","hidden_size":4096,"num_hidden_layers":32,"intermediate_size":14336,
      "num_attention_heads":32,"num_key_value_heads":8,"head_dim":128,"vocab_size":128256,"rms_norm_eps":1e-5,
      "rope_theta":500000.0,"max_position_embeddings":131072,"tie_word_embeddings":false,
      "rope_scaling":{"factor":8.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}})"},
};

std::vector<int32_t> random_tokens(int n, int vocab, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> d(0, vocab - 1);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = d(rng);
  return t;
}

// Parameters of the projections and lm_head of `a` (what a token passes through; the embedding
// lookup and norms are negligible).
double matmul_params(const ModelArgs& a) {
  const double H = a.hidden_size, D = a.head_dim, I = a.intermediate_size;
  const double layer = H * (a.num_attention_heads + 2.0 * a.num_key_value_heads) * D + a.num_attention_heads * D * H + 3 * H * I;
  return layer * a.num_hidden_layers + static_cast<double>(a.vocab_size) * H;
}

class Bench : public BenchModel {
 public:
  Bench(std::unique_ptr<LanguageModel> lm, int kv_bits, uint64_t seed, const SamplingParams& sampling)
      : lm_(std::move(lm)), cache_{std::nullopt, kv_bits}, rng_(seed), sampling_(sampling) {}

  double run(int n_prompt, int n_gen, int depth) override {
    auto seq = lm_->make_sequence(cache_);
    const int vocab = lm_->args().vocab_size;
    for (int done = 0; done < depth; done += 512) {
      std::vector<int32_t> ctx = random_tokens(std::min(512, depth - done), vocab, rng_);
      SequenceTokens in{ctx, seq.get()};
      lm_->forward({&in, 1}, /*all_logits=*/false);
    }
    std::vector<int32_t> toks = random_tokens(std::max(n_prompt, 1), vocab, rng_);
    Sampler sampler(sampling_);  // greedy unless the bench asks for a temperature
    double seconds = 0;
    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [](std::chrono::steady_clock::time_point t) {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    };
    if (n_prompt > 0) {
      SequenceTokens in{toks, seq.get()};
      lm_->forward({&in, 1}, false);  // returns logits on the host: synchronous
      seconds = elapsed(t0);
    } else {
      int32_t tok = lm_->decode(*seq, toks[0], sampler);
      const auto t1 = std::chrono::steady_clock::now();
      for (int i = 0; i < n_gen; ++i) tok = lm_->decode(*seq, tok, sampler);
      seconds = elapsed(t1);
    }
    kv_bytes = std::max(kv_bytes, seq->nbytes());
    kv_bytes_per_position = seq->bytes_per_position();
    kv_dtype = seq->kv_dtype();
    return seconds;
  }

 private:
  std::unique_ptr<LanguageModel> lm_;
  CacheOptions cache_;
  std::mt19937 rng_;
  SamplingParams sampling_;
};

}  // namespace

std::string read_text_file(const std::string& path) { return read_file(path); }
size_t current_rss_bytes() { return cpplm::current_rss_bytes(); }
void set_threads(int n) { set_compute_threads(n); }
int threads() { return compute_threads(); }
std::string active_isa() {
  const cpu::Isa isa = cpu::active_isa();
  return std::string(cpu::isa_name(isa)) + (isa == cpu::Isa::Avx512 && cpu::amx() ? "+amx" : "");
}
void force_isa(const std::string& name) {
  if (name == "avx512") cpu::set_active_isa(cpu::Isa::Avx512);
  else if (name == "avx2") cpu::set_active_isa(cpu::Isa::Avx2);
  else if (name == "scalar") cpu::set_active_isa(cpu::Isa::Scalar);
  else throw Error("unknown instruction set '" + name + "' (avx512, avx2, scalar)");
}
bool cuda_available() { return cpplm::cuda_available(); }

void convert(const ConvertRequest& r) {
  ConvertOptions o;
  if (!r.dtype.empty()) {
    DType t;
    if (r.dtype == "bf16") t = DType::BF16;
    else if (r.dtype == "f16") t = DType::F16;
    else if (r.dtype == "f32") t = DType::F32;
    else throw Error("unknown dtype '" + r.dtype + "' (bf16, f16, f32)");
    o.dtype = t;
  }
  o.quantize = r.quantize;
  o.bits = r.bits;
  o.group_size = r.group_size;
  o.progress = r.progress;
  convert_checkpoint(r.in, r.out, o);
}

std::vector<std::string> published_shapes() {
  std::vector<std::string> n;
  for (const Shape& s : kShapes) n.push_back(s.name);
  return n;
}

double decode_weight_bytes(const LoadedModel& l) {
  const ModelArgs& args = l.args;
  // Bytes per weight a decode step reads: the dtype's, or (mlx-quantized) bits / 8 plus a scale
  // and a bias per group.
  const double elem = args.quantization
                          ? args.quantization->bits / 8.0 + 2.0 * dtype_size(l.wtype) / args.quantization->group_size
                          : static_cast<double>(dtype_size(l.wtype));
  // CPU: every weight once (a tied lm_head shares embed_tokens); GPU: the projections and lm_head (block
  // formats: their share of the uploaded bytes, as repacked or dequantized there).
  return !l.gpu ? l.size_bytes : l.ggml ? l.size_bytes * matmul_params(args) / l.params : matmul_params(args) * elem;
}

SamplingParams bench_sampling(const BenchSpec& spec, uint64_t seed) {
  SamplingParams p;
  p.temp = spec.temp, p.top_p = spec.top_p, p.top_k = spec.top_k, p.seed = seed;
  validate(p);
  return p;
}

int default_decode_batch_rows(int max_concurrent) {
  return max_concurrent <= 1 ? 0 : std::min(128, (max_concurrent + 7) / 8 * 8);
}

LoadedModel load_model(const BenchSpec& spec) {
  if (spec.device != "cpu" && spec.device != "cuda" && spec.device != "auto")
    throw Error("unknown device \"" + spec.device + "\" (expected cpu, cuda or auto)");
  // Random weights in GGUF block formats are made on the CPU (and uploaded when the GPU runs them).
  const std::vector<std::string> gg = random_ggml_types();
  const bool ggml = !spec.shape.empty() && std::find(gg.begin(), gg.end(), spec.dtype) != gg.end();
  const bool gpu = spec.device == "cuda" || (spec.device == "auto" && cuda_available());
  if (gpu && !cuda_available()) throw Error("device cuda: no GPU is visible or this build has no CUDA support");
  LoadedModel r;
  r.gpu = gpu;
  r.ggml = ggml || (spec.shape.empty() && is_gguf_file(spec.model_dir));
  std::unique_ptr<Model> m;  // the CPU model (dropped once a GPU copy exists)
  ModelArgs& args = r.args;
  DType wtype = DType::BF16;
  if (!spec.shape.empty()) {
    nlohmann::json cfg;
    for (const Shape& s : kShapes)
      if (spec.shape == s.name) cfg = parse_json(s.config, s.name);
    if (cfg.is_null()) {
      if (!std::filesystem::is_regular_file(spec.shape))
        throw Error("unknown shape '" + spec.shape + "' (llama-3.2-1b, llama-3.2-3b, llama-3.1-8b or a config.json)");
      cfg = parse_json_file(spec.shape);
    }
    const int bits = spec.dtype == "q8" ? 8 : spec.dtype == "q4" ? 4 : 0, group = 64;
    if (spec.dtype != "f32" && spec.dtype != "bf16" && spec.dtype != "f16" && !bits && !ggml) {
      std::string names;
      for (const std::string& n : gg) names += ", " + n;
      throw Error("unknown dtype '" + spec.dtype + "' (f32, bf16, f16, q8, q4 (mlx), or a GGUF type: " + names.substr(2) + ")");
    }
    wtype = spec.dtype == "f32" || ggml ? DType::F32 : spec.dtype == "f16" ? DType::F16 : DType::BF16;
    if (bits) cfg["quantization"] = {{"group_size", group}, {"bits", bits}};
    args = parse_model_args(cfg, spec.shape);
    resolve_model_family(args, spec.shape);
    if (ggml) {
      RandomGgml w = random_ggml_weights(args, spec.dtype, spec.seed);
      m = Model::from_tensors(args, std::move(w.tensors), std::move(w.ggml), spec.shape);
    } else if (!gpu) {
      m = Model::from_tensors(args, random_weights(args, wtype, bits, group, spec.seed), spec.shape);
    }
    const bool published =
        std::any_of(std::begin(kShapes), std::end(kShapes), [&](const Shape& s) { return spec.shape == s.name; });
    r.name = (published ? spec.shape : std::filesystem::path(spec.shape).parent_path().filename().string()) + " " + spec.dtype;
  } else {
    m = Model::load(spec.model_dir);
    args = m->args();
    wtype = m->model_dtype();
    const std::filesystem::path path(spec.model_dir);
    if (std::filesystem::is_regular_file(path))  // a GGUF file: its name says its types (a file may mix several)
      r.name = path.filename().string();
    else
      r.name = path.filename().string() + " " +
               (args.quantization ? std::string("q") + std::to_string(args.quantization->bits) : std::string(dtype_name(wtype)));
  }
  r.wtype = wtype;
  if (gpu) {
#ifdef CPPLM_HAVE_CUDA
    CudaOptions o;
    o.progress = spec.progress;
    if (spec.decode_batch_rows >= 0) o.decode_batch_rows = spec.decode_batch_rows;
    r.lm = m ? make_cuda_model(*m, o) : make_cuda_model_random(args, wtype, spec.seed, o);
    const CudaMemory mem = cuda_memory(*r.lm);
    r.size_bytes = static_cast<double>(mem.weights);
    r.workspace = mem.workspace;
    r.params = m ? static_cast<double>(m->num_params())
                 : matmul_params(args) +
                       (args.tie_word_embeddings.value_or(false) ? 0.0 : double{1} * args.vocab_size * args.hidden_size);
    r.backend = "CUDA " + r.lm->device();
#endif
  } else {
    r.size_bytes = static_cast<double>(m->weight_bytes());
    r.params = static_cast<double>(m->num_params());
    r.backend = "CPU " + active_isa();
    r.lm = std::make_unique<CpuModel>(std::move(m));
  }
  return r;
}

std::unique_ptr<BenchModel> BenchModel::load(const BenchSpec& spec) {
  LoadedModel l = load_model(spec);
  const ModelArgs& args = l.args;
  const bool gpu = l.gpu;
  const double step_bytes = tools::decode_weight_bytes(l);
  auto b = std::make_unique<Bench>(std::move(l.lm), spec.kv_bits, spec.seed, bench_sampling(spec, 0));
  b->name = l.name;
  b->backend = l.backend;
  b->gpu = gpu;
  b->size_bytes = l.size_bytes;
  b->params = l.params;
  b->flops_per_token = 2.0 * matmul_params(args);
  b->decode_weight_bytes = step_bytes;
  b->gpu_workspace_bytes = l.workspace;
  return b;
}

double read_bandwidth_gbs(size_t bytes, int reps) { return measure_read_bandwidth(bytes, reps); }

double gpu_copy_bandwidth_gbs(size_t bytes) {
#ifdef CPPLM_HAVE_CUDA
  return cuda_copy_bandwidth(0, bytes) / 1e9;
#else
  (void)bytes;
  throw Error("this build has no CUDA support");
#endif
}

}  // namespace cpplm::tools
