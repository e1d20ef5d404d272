// Helpers of the GGUF model tests: fixture paths, a GGUF writer for float files made from the bundled checkpoint
// (llama.cpp's converter layout: Q/K rows permuted, norms F32), byte patches for bad files, greedy decoding.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "core/dtype.h"
#include "core/file_io.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/gguf_model.h"
#include "model/llama.h"

namespace cpplm::test {

// GGUF fixtures: tests/data/gguf, or CPPLM_GGUF_DIR (a developer's check of all of llama.cpp's files).
inline std::string gguf_dir() {
  const char* env = std::getenv("CPPLM_GGUF_DIR");
  return env && *env ? env : std::string(CPPLM_TEST_DATA) + "/gguf";
}
inline std::string bundled_model() { return std::string(CPPLM_MODELS_DIR) + "/llama-6m-kjv-fortunes"; }
inline std::string q2k_file() { return std::string(CPPLM_TEST_DATA) + "/gguf/llama-6m-kjv-fortunes-q2_k.gguf"; }
// Files the tests write go to one folder per process, removed when the process ends.
inline std::filesystem::path tmp_dir() {
  static const struct Dir {
    std::filesystem::path path = std::filesystem::temp_directory_path() / ("cpplm_gguf_tests_" + std::to_string(::getpid()));
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  } dir;
  std::filesystem::create_directories(dir.path);
  return dir.path;
}
inline std::string tmp_path(const std::string& name) { return (tmp_dir() / name).string(); }

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  const std::string s = read_file(path);
  return std::vector<uint8_t>(s.begin(), s.end());
}
inline void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// Where a (valid) GGUF file's metadata ends and its tensor infos begin.
inline size_t gguf_metadata_end(const std::vector<uint8_t>& b) {
  size_t p = 16;
  auto u64 = [&] {
    uint64_t v;
    std::memcpy(&v, &b.at(p + 7) - 7, 8);
    p += 8;
    return v;
  };
  auto u32 = [&] {
    uint32_t v;
    std::memcpy(&v, &b.at(p + 3) - 3, 4);
    p += 4;
    return v;
  };
  const uint64_t n_kv = u64();
  auto skip = [&](auto&& self, uint32_t t) -> void {
    static const size_t kSize[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (t == 8) p += u64();
    else if (t == 9) {
      const uint32_t et = u32();
      const uint64_t n = u64();
      for (uint64_t i = 0; i < n; ++i) self(self, et);
    } else p += kSize[t];
  };
  for (uint64_t i = 0; i < n_kv; ++i) {
    p += u64();  // key
    skip(skip, u32());
  }
  return p;
}

// A float GGUF of the bundled checkpoint, as llama.cpp's converter writes it: the metadata of `meta_from` (a
// GGUF of the same model), its tensors in its order, 2-D tensors in `type` (F32, F16, BF16, Q8_0 or Q4_0) with Q and K rows
// permuted (convert_hf_to_gguf.py LlamaModel.permute), 1-D tensors F32; plus an F32 `rope_freqs.weight` when
// rope_freqs is given (Llama 3.1's rope factors).
inline void write_float_gguf(const std::string& meta_from, GgmlType type, const std::string& out,
                             const std::vector<float>& rope_freqs = {}) {
  const std::vector<uint8_t> src = read_bytes(meta_from);
  const GgufFile g(meta_from);
  const ModelArgs args = gguf_model_args(g);
  const WeightStore hf = WeightStore::open_dir(bundled_model());
  std::vector<uint8_t> o(src.begin(), src.begin() + static_cast<std::ptrdiff_t>(gguf_metadata_end(src)));
  auto put = [&](const void* p, size_t n) {
    o.insert(o.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
  };
  std::vector<std::vector<uint8_t>> data;
  uint64_t offset = 0;
  auto put_info = [&](const std::string& name, const std::vector<uint64_t>& ne, GgmlType tt, size_t nbytes) {
    const uint64_t len = name.size();
    put(&len, 8);
    put(name.data(), name.size());
    const uint32_t nd = static_cast<uint32_t>(ne.size()), ty = static_cast<uint32_t>(tt);
    put(&nd, 4);
    for (uint64_t n : ne) put(&n, 8);
    put(&ty, 4);
    put(&offset, 8);
    offset += (nbytes + 31) / 32 * 32;
  };
  if (!rope_freqs.empty()) {
    const uint64_t n_tensors = g.tensors().size() + 1;
    std::memcpy(&o[8], &n_tensors, 8);
    put_info("rope_freqs.weight", {rope_freqs.size()}, GgmlType::F32, rope_freqs.size() * 4);
    const auto* p = reinterpret_cast<const uint8_t*>(rope_freqs.data());
    data.emplace_back(p, p + rope_freqs.size() * 4);
  }
  for (const GgufTensor& t : g.tensors()) {
    std::string name = gguf_to_hf_name(t.name);
    if (name == "lm_head.weight") name = "model.embed_tokens.weight";
    const TensorView* v = hf.find(name);
    if (!v) throw std::runtime_error("no " + name + " in the bundled model");
    std::vector<float> f(static_cast<size_t>(v->numel()));
    for (size_t i = 0; i < f.size(); ++i) f[i] = bf16_to_f32(v->as<uint16_t>()[i]);
    const bool q = t.name.find("attn_q.weight") != std::string::npos, k = t.name.find("attn_k.weight") != std::string::npos;
    if (q || k) {
      const int64_t cols = v->dim(1), d = args.head_dim, heads = q ? args.num_attention_heads : args.num_key_value_heads;
      std::vector<float> p(f.size());
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t j = 0; j < d / 2; ++j)
          for (int64_t s = 0; s < 2; ++s)
            std::memcpy(&p[static_cast<size_t>((h * d + 2 * j + s) * cols)],
                        &f[static_cast<size_t>((h * d + s * d / 2 + j) * cols)], static_cast<size_t>(cols) * 4);
      f.swap(p);
    }
    const GgmlType tt = t.ne.size() == 1 ? GgmlType::F32 : type;
    std::vector<uint8_t> bytes;
    if (tt == GgmlType::F32) {
      bytes.assign(reinterpret_cast<uint8_t*>(f.data()), reinterpret_cast<uint8_t*>(f.data()) + f.size() * 4);
    } else if (tt == GgmlType::Q8_0) {
      // ggml's quantize_row_q8_0_ref (what llama-quantize runs for Q8_0): d = amax/127 as f16, q = roundf(x/d).
      for (size_t b = 0; b < f.size(); b += 32) {
        float amax = 0.0f;
        for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(f[b + j]));
        const float d = amax / ((1 << 7) - 1);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t h = f32_to_f16(d);
        bytes.push_back(static_cast<uint8_t>(h & 0xFF));
        bytes.push_back(static_cast<uint8_t>(h >> 8));
        for (size_t j = 0; j < 32; ++j) bytes.push_back(static_cast<uint8_t>(static_cast<int8_t>(std::roundf(f[b + j] * id))));
      }
    } else if (tt == GgmlType::Q4_0) {
      // ggml's quantize_row_q4_0_ref: d = (the value of largest magnitude) / -8 as f16, q = min(15, trunc(x/d + 8.5)),
      // inputs j and j + 16 in the low and high nibbles of byte j.
      for (size_t b = 0; b < f.size(); b += 32) {
        float amax = 0.0f, vmax = 0.0f;
        for (size_t j = 0; j < 32; ++j)
          if (std::fabs(f[b + j]) > amax) amax = std::fabs(f[b + j]), vmax = f[b + j];
        const float d = vmax / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t h = f32_to_f16(d);
        bytes.push_back(static_cast<uint8_t>(h & 0xFF));
        bytes.push_back(static_cast<uint8_t>(h >> 8));
        auto code = [&](float x) { return std::min(15, static_cast<int>(static_cast<int8_t>(x * id + 8.5f))); };
        for (size_t j = 0; j < 16; ++j) bytes.push_back(static_cast<uint8_t>(code(f[b + j]) | code(f[b + j + 16]) << 4));
      }
    } else
      for (float x : f) {
        const uint16_t h = tt == GgmlType::F16 ? f32_to_f16(x) : f32_to_bf16(x);
        bytes.push_back(static_cast<uint8_t>(h & 0xFF));
        bytes.push_back(static_cast<uint8_t>(h >> 8));
      }
    put_info(t.name, t.ne, tt, bytes.size());
    data.push_back(std::move(bytes));
  }
  o.resize((o.size() + 31) / 32 * 32, 0);
  for (auto& d : data) {
    put(d.data(), d.size());
    o.resize((o.size() + 31) / 32 * 32, 0);
  }
  write_bytes(out, o);
}

// Replaces the first occurrence of `from` by `to` (same length) in the file's bytes.
inline std::vector<uint8_t> patched(std::vector<uint8_t> b, const std::string& from, const std::string& to) {
  auto it =
      std::search(b.begin(), b.end(), from.begin(), from.end(), [](uint8_t x, char y) { return x == static_cast<uint8_t>(y); });
  if (it == b.end() || from.size() != to.size()) throw std::runtime_error("patch: '" + from + "' not found");
  std::copy(to.begin(), to.end(), it);
  return b;
}

// Greedy continuation of `prompt` (up to max_new tokens, stopping after `eos`), as llama.cpp's reference runs.
inline std::vector<int32_t> greedy(Model& m, const std::vector<int32_t>& prompt, int max_new, int32_t eos) {
  SequenceCache cache = m.make_cache();
  std::vector<int32_t> out, next = prompt;
  const int vocab = m.args().vocab_size;
  while (static_cast<int>(out.size()) < max_new) {
    SequenceInput in{next, &cache};
    const std::vector<float> logits = m.forward(std::span<const SequenceInput>(&in, 1), /*all_logits=*/false);
    int32_t best = 0;
    for (int32_t i = 1; i < vocab; ++i)
      if (logits[i] > logits[best]) best = i;
    out.push_back(best);
    if (best == eos) break;
    next = {best};
  }
  return out;
}

}  // namespace cpplm::test
