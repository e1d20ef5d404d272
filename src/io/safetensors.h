// safetensors reading: one mmap'ed file validated in full, and a checkpoint's set of files (single, index or shard glob).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"

namespace cpplm {

struct ParsedSafetensors {
  std::map<std::string, TensorView> tensors;  // pointing into the given bytes
  std::map<std::string, std::string> metadata;
};
// Validates and parses safetensors bytes; `path` names the source in errors.
ParsedSafetensors parse_safetensors(const uint8_t* bytes, size_t size, const std::string& path);

// One .safetensors file. The constructor validates the header (length vs file size, JSON,
// dtype/shape vs byte size, offsets inside the data, no overlaps) and throws Error naming
// the file and tensor. Views point into the mapping (zero-copy) unless a tensor's data is
// misaligned for its dtype, in which case it is copied once into an aligned buffer.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return file_.path(); }
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  size_t file_size() const { return file_.size(); }

 private:
  MappedFile file_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
  std::vector<Buffer> realigned_;
};

// All weights of a checkpoint folder: `model.safetensors`, or `model.safetensors.index.json`
// with its shards, or else every `model*.safetensors` file. Names must be unique across files.
class WeightStore {
 public:
  static WeightStore open_dir(const std::string& dir);
  static WeightStore open_files(const std::vector<std::string>& paths);

  const TensorView* find(const std::string& name) const;
  bool has(const std::string& name) const { return find(name) != nullptr; }
  // The file holding `name` (for error messages); "" when absent.
  std::string file_of(const std::string& name) const;
  std::vector<std::string> names() const;
  size_t total_bytes() const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::pair<const SafetensorsFile*, TensorView>> index_;
  void add(std::unique_ptr<SafetensorsFile> f);
};

}  // namespace cpplm
