// safetensors parsing and validation, and checkpoint folder discovery.
#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_file.h"

namespace cpplm {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

Entry parse_entry(const std::string& path, const std::string& name, const json& v) {
  auto fail = [&](const std::string& why) -> Error { return Error(path + ": tensor '" + name + "': " + why); };
  if (!v.is_object()) throw fail("header entry is not an object");
  Entry e{name, DType::F32, {}, 0, 0};
  auto dt = v.find("dtype");
  if (dt == v.end() || !dt->is_string()) throw fail("missing or non-string \"dtype\"");
  if (!parse_dtype(dt->get<std::string>(), &e.dtype)) throw fail("unsupported dtype \"" + dt->get<std::string>() + "\"");
  auto sh = v.find("shape");
  if (sh == v.end() || !sh->is_array()) throw fail("missing or non-array \"shape\"");
  uint64_t numel = 1;
  for (const json& d : *sh) {
    if (!d.is_number_unsigned()) throw fail("shape has a non-integer or negative dimension");
    uint64_t dim = d.get<uint64_t>();
    if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / 16 / dim) throw fail("shape " + sh->dump() + " is too large");
    numel *= dim;
    e.shape.push_back(static_cast<int64_t>(dim));
  }
  auto off = v.find("data_offsets");
  if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    throw fail("\"data_offsets\" must be two non-negative integers");
  e.begin = (*off)[0].get<uint64_t>();
  e.end = (*off)[1].get<uint64_t>();
  if (e.end < e.begin) throw fail("data_offsets end < begin");
  uint64_t want = numel * dtype_size(e.dtype);
  if (e.end - e.begin != want)
    throw fail("dtype " + std::string(dtype_name(e.dtype)) + " shape " + shape_str(e.shape) + " needs " + std::to_string(want) +
               " bytes but data_offsets span " + std::to_string(e.end - e.begin));
  return e;
}

}  // namespace

ParsedSafetensors parse_safetensors(const uint8_t* bytes, size_t size, const std::string& path) {
  ParsedSafetensors out;
  if (size < 8) throw Error(path + ": file too small for a safetensors header (" + std::to_string(size) + " bytes)");
  uint64_t n = 0;
  std::memcpy(&n, bytes, 8);  // little-endian u64 (x86/ARM hosts are little-endian)
  if (n > size - 8)
    throw Error(path + ": header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) +
                " bytes)");
  const char* hdr = reinterpret_cast<const char*>(bytes + 8);
  const json j = parse_json(std::string_view(hdr, n), path + ": header");
  if (!j.is_object()) throw Error(path + ": header is not a JSON object");
  const uint8_t* data = bytes + 8 + n;
  const uint64_t data_size = size - 8 - n;

  std::vector<Entry> entries;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) throw Error(path + ": __metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m)
        if (m->is_string()) out.metadata[m.key()] = m->get<std::string>();
      continue;
    }
    entries.push_back(parse_entry(path, it.key(), *it));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.end > data_size)
      throw Error(path + ": tensor '" + e.name + "': data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                  ") outside the data section (" + std::to_string(data_size) + " bytes; truncated file?)");
    if (i > 0 && e.begin < entries[i - 1].end && e.end > e.begin)
      throw Error(path + ": tensor '" + e.name + "' overlaps tensor '" + entries[i - 1].name + "'");
    out.tensors[e.name] = TensorView{data + e.begin, e.dtype, e.shape};
  }
  return out;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(path) {
  ParsedSafetensors p = parse_safetensors(file_.data(), file_.size(), path);
  metadata_ = std::move(p.metadata);
  for (auto& [name, view] : p.tensors) {
    if (reinterpret_cast<uintptr_t>(view.data) % dtype_size(view.dtype) != 0) {
      Buffer b(view.nbytes());  // misaligned for its dtype: one aligned copy
      std::memcpy(b.data(), view.data, view.nbytes());
      view.data = b.data();
      realigned_.push_back(std::move(b));
    }
    tensors_[name] = view;
  }
}

void WeightStore::add(std::unique_ptr<SafetensorsFile> f) {
  for (const auto& [name, view] : f->tensors()) {
    auto [it, inserted] = index_.emplace(name, std::make_pair(f.get(), view));
    if (!inserted) throw Error(f->path() + ": tensor '" + name + "' also appears in " + it->second.first->path());
  }
  files_.push_back(std::move(f));
}

WeightStore WeightStore::open_files(const std::vector<std::string>& paths) {
  WeightStore ws;
  for (const auto& p : paths) ws.add(std::make_unique<SafetensorsFile>(p));
  return ws;
}

WeightStore WeightStore::open_dir(const std::string& dir) {
  if (!fs::is_directory(dir)) throw Error(dir + ": not a directory");
  WeightStore ws;
  ws.dir_ = dir;
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(single)) {
    ws.add(std::make_unique<SafetensorsFile>(single.string()));
    return ws;
  }
  if (fs::exists(index)) {
    const json j = parse_json_file(index.string());
    if (!j.is_object()) throw Error(index.string() + ": not a JSON object");
    auto wm = j.find("weight_map");
    if (wm == j.end() || !wm->is_object()) throw Error(index.string() + ": missing object \"weight_map\"");
    std::vector<std::string> shard_names;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it->is_string()) throw Error(index.string() + ": weight_map[\"" + it.key() + "\"] is not a string");
      std::string s = it->get<std::string>();
      if (s.find('/') != std::string::npos || s.find("..") != std::string::npos)
        throw Error(index.string() + ": weight_map[\"" + it.key() + "\"] names a path outside the folder: " + s);
      if (std::find(shard_names.begin(), shard_names.end(), s) == shard_names.end()) shard_names.push_back(s);
    }
    std::sort(shard_names.begin(), shard_names.end());
    for (const auto& s : shard_names) ws.add(std::make_unique<SafetensorsFile>((fs::path(dir) / s).string()));
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      std::string where = ws.file_of(it.key());
      if (where.empty())
        throw Error(index.string() + ": tensor '" + it.key() + "' is listed in " + it->get<std::string>() +
                    " but not found there");
    }
    return ws;
  }
  std::vector<std::string> shards;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.rfind("model", 0) == 0 && n.size() > 12 && n.ends_with(".safetensors")) shards.push_back(e.path().string());
  }
  if (shards.empty()) throw Error(dir + ": no model.safetensors, model.safetensors.index.json or model*.safetensors");
  std::sort(shards.begin(), shards.end());
  for (const auto& s : shards) ws.add(std::make_unique<SafetensorsFile>(s));
  return ws;
}

const TensorView* WeightStore::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &it->second.second;
}

std::string WeightStore::file_of(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? std::string() : it->second.first->path();
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  for (const auto& kv : index_) out.push_back(kv.first);
  return out;
}

size_t WeightStore::total_bytes() const {
  size_t n = 0;
  for (const auto& kv : index_) n += kv.second.second.nbytes();
  return n;
}

}  // namespace cpplm
