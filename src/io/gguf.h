// GGUF reading (llama.cpp's format, versions 2 and 3): one mmap'ed file validated in full, metadata and tensor table zero-copy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ggml_types.h"
#include "core/mapped_file.h"

namespace cpplm {


// GGUF metadata value types (gguf.h `enum gguf_type`).
enum class GgufType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};
const char* gguf_type_name(GgufType type);

// One metadata value. Scalars are widened (signed to int64, unsigned to uint64, floats to double);
// arrays stay views into the file: numbers as raw little-endian elements read on access, strings as
// string_views (a vocabulary of 150k strings costs one vector of views), nested arrays as values.
class GgufValue {
 public:
  GgufType type() const { return type_; }
  bool is_array() const { return type_ == GgufType::ARRAY; }
  bool is_integer() const;  // any of the 8 integer types (not BOOL)
  bool is_float() const { return type_ == GgufType::FLOAT32 || type_ == GgufType::FLOAT64; }

  // Scalars; the caller checks type() first (a mismatch throws Error).
  int64_t as_i64() const;   // any integer type whose value fits
  uint64_t as_u64() const;  // any non-negative integer
  double as_f64() const;    // floats and integers
  bool as_bool() const;
  std::string_view as_string() const;

  // Arrays: element type, length, and the element at i (i < size(), else Error).
  GgufType elem_type() const { return elem_type_; }
  size_t size() const { return n_; }
  int64_t int_at(size_t i) const;
  uint64_t uint_at(size_t i) const;
  double float_at(size_t i) const;
  bool bool_at(size_t i) const;
  std::string_view string_at(size_t i) const;
  const GgufValue& array_at(size_t i) const;
  const std::vector<std::string_view>& strings() const { return strings_; }  // STRING arrays

 private:
  friend class GgufParser;
  GgufType type_ = GgufType::UINT8;
  GgufType elem_type_ = GgufType::UINT8;
  int64_t i_ = 0;
  uint64_t u_ = 0;
  double f_ = 0;
  std::string_view s_;
  const uint8_t* raw_ = nullptr;  // numeric array elements (unaligned)
  size_t n_ = 0;
  std::vector<std::string_view> strings_;
  std::vector<GgufValue> items_;  // nested arrays
  // Element i of a numeric array read as `want` (INT64: any integer type, FLOAT64: any number), in
  // every form; throws Error when this is not such an array or i is out of range.
  struct Number {
    int64_t i = 0;
    uint64_t u = 0;
    double f = 0;
  };
  Number element(size_t i, GgufType want) const;
  void check_index(size_t i, GgufType want) const;
};

// One tensor's entry in the tensor table. `ne` is GGUF's order: ne[0] is the innermost (contiguous) dimension.
struct GgufTensor {
  std::string name;
  GgmlType type;
  std::vector<uint64_t> ne;
  uint64_t offset;  // from the start of the data section
  uint64_t nbytes;
  const uint8_t* data;  // into the mapping (or the given bytes)
  uint64_t numel() const;
};

// A validated GGUF file. Construction checks everything before anything is used (magic, version, every
// length and count against the bytes left, value types, nesting, tensor dims and types, alignment,
// tensor data inside the file, no overlaps) and throws Error naming the file and the problem.
class GgufFile {
 public:
  explicit GgufFile(const std::string& path);
  // Parses bytes the caller keeps alive for the object's lifetime; `name` stands for the file in errors.
  static GgufFile from_bytes(const uint8_t* data, size_t size, const std::string& name);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // start of the data section in the file
  size_t file_size() const { return size_; }

  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* find(const std::string& key) const;  // nullptr when absent
  bool has(const std::string& key) const { return find(key) != nullptr; }

  // Typed getters: Error naming the key when absent, of another type, or out of range for the result.
  uint32_t get_u32(const std::string& key) const;
  uint64_t get_u64(const std::string& key) const;
  int64_t get_i64(const std::string& key) const;
  float get_f32(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  const GgufValue& get_array(const std::string& key) const;
  // The same, nullopt / nullptr when absent (still Error on a wrong type).
  std::optional<uint32_t> get_u32_opt(const std::string& key) const;
  std::optional<uint64_t> get_u64_opt(const std::string& key) const;
  std::optional<float> get_f32_opt(const std::string& key) const;
  std::optional<bool> get_bool_opt(const std::string& key) const;
  std::optional<std::string> get_string_opt(const std::string& key) const;
  const GgufValue* get_array_opt(const std::string& key) const;

  const std::vector<GgufTensor>& tensors() const { return tensors_; }  // in file order
  const GgufTensor* find_tensor(const std::string& name) const;

 private:
  friend class GgufParser;
  GgufFile() = default;
  std::shared_ptr<MappedFile> file_;  // null when parsed from caller's bytes
  std::string path_;
  size_t size_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::map<std::string, size_t, std::less<>> key_index_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
  const GgufValue& require(const std::string& key, bool ok_type(const GgufValue&), const char* want) const;
  void parse(const uint8_t* data, size_t size);
};

// True when `path` is a readable file that starts with GGUF's magic (a folder or another file gives false).
bool is_gguf_file(const std::string& path);

}  // namespace cpplm
