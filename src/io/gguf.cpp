// GGUF parsing and validation: header, metadata, tensor table and data layout, all checked before use.
#include "io/gguf.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>

#include "core/error.h"

namespace cpplm {

// gguf_value.cpp
size_t gguf_scalar_size(GgufType t);
void gguf_read_number(GgufType t, const uint8_t* p, int64_t* i, uint64_t* u, double* f);

namespace {
constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr int kMaxNesting = 8;           // arrays of arrays; real files use none
constexpr uint32_t kMaxDims = 4;         // GGML_MAX_DIMS
constexpr uint64_t kMaxAlignment = uint64_t(1) << 30;
// Fewest bytes one entry can take, to reject counts the rest of the file could not hold before reserving.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;              // key length, value type, one byte of value
constexpr uint64_t kMinTensorBytes = 8 + 4 + 8 + 4 + 8;  // name length, n_dims, one dim, type, offset

std::string str(uint64_t v) { return std::to_string(v); }
}  // namespace

class GgufParser {
 public:
  GgufParser(const uint8_t* d, size_t n, const std::string& path) : d_(d), n_(n), path_(path) {}
  void run(GgufFile* f);

 private:
  const uint8_t* d_;
  size_t n_;
  size_t pos_ = 0;
  const std::string& path_;

  Error fail(const std::string& why) const { return Error(path_ + ": " + why); }
  size_t left() const { return n_ - pos_; }
  void need(uint64_t bytes, const std::string& what) const {
    if (bytes > left())
      throw fail("truncated file: " + what + " needs " + str(bytes) + " bytes at offset " + str(pos_) + " but only " +
                 str(left()) + " remain (file is " + str(n_) + " bytes)");
  }
  template <typename T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, d_ + pos_, sizeof(T));  // little-endian file on a little-endian host
    pos_ += sizeof(T);
    return v;
  }
  std::string_view read_string(const std::string& what) {
    const size_t at = pos_;
    const uint64_t len = read<uint64_t>(what + " (string length)");
    if (len > left())
      throw fail(what + ": string length " + str(len) + " at offset " + str(at) + " runs past the end of the file (" +
                 str(left()) + " bytes remain)");
    std::string_view s(reinterpret_cast<const char*>(d_ + pos_), len);
    pos_ += len;
    return s;
  }
  GgufType read_type(const std::string& what) {
    const uint32_t t = read<uint32_t>(what);
    if (t > static_cast<uint32_t>(GgufType::FLOAT64)) throw fail(what + ": invalid value type " + str(t));
    return static_cast<GgufType>(t);
  }
  GgufValue read_value(GgufType t, const std::string& what, int depth);
  GgufValue read_array(const std::string& what, int depth);
  void read_tensor_info(GgufFile* f);
  void check_tensor_data(GgufFile* f);
  void read_alignment(GgufFile* f);
};

GgufValue GgufParser::read_value(GgufType t, const std::string& what, int depth) {
  GgufValue v;
  v.type_ = t;
  if (t == GgufType::STRING) {
    v.s_ = read_string(what);
  } else if (t == GgufType::ARRAY) {
    return read_array(what, depth + 1);
  } else {
    const size_t sz = gguf_scalar_size(t);
    need(sz, what + " (" + gguf_type_name(t) + ")");
    gguf_read_number(t, d_ + pos_, &v.i_, &v.u_, &v.f_);
    pos_ += sz;
  }
  return v;
}

GgufValue GgufParser::read_array(const std::string& what, int depth) {
  if (depth > kMaxNesting) throw fail(what + ": arrays nested more than " + str(kMaxNesting) + " deep");
  GgufValue v;
  v.type_ = GgufType::ARRAY;
  v.elem_type_ = read_type(what + " (array element type)");
  const size_t at = pos_;
  const uint64_t count = read<uint64_t>(what + " (array length)");
  const uint64_t min_elem = v.elem_type_ == GgufType::STRING  ? 8
                            : v.elem_type_ == GgufType::ARRAY ? 12
                                                              : gguf_scalar_size(v.elem_type_);
  if (count > left() / min_elem)
    throw fail(what + ": array length " + str(count) + " at offset " + str(at) + " cannot fit in the " + str(left()) +
               " bytes that remain");
  v.n_ = count;
  if (v.elem_type_ == GgufType::STRING) {
    v.strings_.reserve(count);
    for (uint64_t i = 0; i < count; ++i) v.strings_.push_back(read_string(what + "[" + str(i) + "]"));
  } else if (v.elem_type_ == GgufType::ARRAY) {
    v.items_.reserve(count);
    for (uint64_t i = 0; i < count; ++i) v.items_.push_back(read_array(what + "[" + str(i) + "]", depth + 1));
  } else {
    v.raw_ = d_ + pos_;
    pos_ += count * min_elem;
  }
  return v;
}

void GgufParser::read_alignment(GgufFile* f) {
  const GgufValue* a = f->find("general.alignment");
  if (!a) return;
  if (!a->is_integer()) throw fail("general.alignment is " + std::string(gguf_type_name(a->type())) + ", expected UINT32");
  const bool is_signed =
      a->type() == GgufType::INT8 || a->type() == GgufType::INT16 || a->type() == GgufType::INT32 || a->type() == GgufType::INT64;
  if (is_signed && a->i_ < 0) throw fail("general.alignment " + std::to_string(a->i_) + " is not a power of two");
  const uint64_t v = a->u_;
  if (v == 0 || (v & (v - 1)) != 0) throw fail("general.alignment " + str(v) + " is not a power of two");
  if (v > kMaxAlignment) throw fail("general.alignment " + str(v) + " is larger than 1 GiB");
  f->alignment_ = v;
}

void GgufParser::read_tensor_info(GgufFile* f) {
  const std::string idx = "tensor info " + str(f->tensors_.size());
  GgufTensor t{};
  t.name = std::string(read_string(idx + " name"));
  const std::string what = "tensor '" + t.name + "'";
  const uint32_t n_dims = read<uint32_t>(what + " n_dims");
  if (n_dims == 0 || n_dims > kMaxDims) throw fail(what + ": n_dims " + str(n_dims) + " is not in 1.." + str(kMaxDims));
  uint64_t numel = 1;
  for (uint32_t i = 0; i < n_dims; ++i) {
    const uint64_t d = read<uint64_t>(what + " ne[" + str(i) + "]");
    if (d == 0) throw fail(what + ": dimension ne[" + str(i) + "] is 0");
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / numel)
      throw fail(what + ": element count overflows (ne[" + str(i) + "] = " + str(d) + ")");
    numel *= d;
    t.ne.push_back(d);
  }
  const uint32_t type = read<uint32_t>(what + " type");
  const GgmlTypeInfo* info = ggml_type_info(type);
  if (!info) throw fail(what + ": unknown ggml type " + str(type));
  t.type = static_cast<GgmlType>(type);
  if (t.ne[0] % info->block_size != 0)
    throw fail(what + ": ne[0] = " + str(t.ne[0]) + " is not a multiple of " + info->name + "'s block size " +
               str(info->block_size));
  const uint64_t blocks = numel / info->block_size;
  if (blocks > std::numeric_limits<uint64_t>::max() / info->block_bytes) throw fail(what + ": byte size overflows");
  t.nbytes = blocks * info->block_bytes;
  t.offset = read<uint64_t>(what + " offset");
  if (f->tensor_index_.count(t.name)) throw fail("duplicate tensor name '" + t.name + "'");
  f->tensor_index_.emplace(t.name, f->tensors_.size());
  f->tensors_.push_back(std::move(t));
}

void GgufParser::check_tensor_data(GgufFile* f) {
  const uint64_t a = f->alignment_;
  const uint64_t data_start = (pos_ + a - 1) / a * a;
  f->data_offset_ = data_start;
  if (f->tensors_.empty()) return;
  if (data_start > n_)
    throw fail("data section would start at offset " + str(data_start) + ", past the end of the file (" + str(n_) +
               " bytes; truncated file?)");
  const uint64_t data_size = n_ - data_start;
  std::vector<const GgufTensor*> order;
  order.reserve(f->tensors_.size());
  for (GgufTensor& t : f->tensors_) {
    if (t.offset % a != 0)
      throw fail("tensor '" + t.name + "': offset " + str(t.offset) + " is not a multiple of the alignment " + str(a));
    if (t.offset > data_size || t.nbytes > data_size - t.offset)
      throw fail("tensor '" + t.name + "': data [" + str(t.offset) + ", " + str(t.offset + t.nbytes) +
                 ") lies past the end of the data section (" + str(data_size) + " bytes; truncated file?)");
    t.data = d_ + data_start + t.offset;
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](const GgufTensor* x, const GgufTensor* y) { return x->offset < y->offset; });
  for (size_t i = 1; i < order.size(); ++i)
    if (order[i]->offset < order[i - 1]->offset + order[i - 1]->nbytes)
      throw fail("tensor '" + order[i]->name + "' (offset " + str(order[i]->offset) + ") overlaps tensor '" + order[i - 1]->name +
                 "' (offset " + str(order[i - 1]->offset) + ", " + str(order[i - 1]->nbytes) + " bytes)");
}

void GgufParser::run(GgufFile* f) {
  f->size_ = n_;
  if (n_ < 4) throw fail("file too small for GGUF (" + str(n_) + " bytes)");
  if (read<uint32_t>("magic") != kMagic) throw fail("bad magic: not a GGUF file (the first 4 bytes are not \"GGUF\")");
  f->version_ = read<uint32_t>("version");
  if (f->version_ != 2 && f->version_ != 3)
    throw fail("GGUF version " + str(f->version_) + " is not supported (only versions 2 and 3)");
  const uint64_t n_tensors = read<uint64_t>("tensor count");
  const uint64_t n_kv = read<uint64_t>("metadata count");
  if (n_kv > left() / kMinKvBytes)
    throw fail("metadata count " + str(n_kv) + " cannot fit in the " + str(left()) + " bytes that remain");
  if (n_tensors > left() / kMinTensorBytes)
    throw fail("tensor count " + str(n_tensors) + " cannot fit in the " + str(left()) + " bytes that remain");

  f->metadata_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key(read_string("metadata key " + str(i)));
    const std::string what = "metadata '" + key + "'";
    if (f->key_index_.count(key)) throw fail("duplicate metadata key '" + key + "'");
    const GgufType t = read_type(what + " value type");
    GgufValue v = read_value(t, what, /*depth=*/0);
    f->key_index_.emplace(key, f->metadata_.size());
    f->metadata_.emplace_back(std::move(key), std::move(v));
  }
  read_alignment(f);

  if (n_tensors > left() / kMinTensorBytes)
    throw fail("tensor count " + str(n_tensors) + " cannot fit in the " + str(left()) + " bytes after the metadata");
  f->tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) read_tensor_info(f);
  check_tensor_data(f);
}

void GgufFile::parse(const uint8_t* data, size_t size) { GgufParser(data, size, path_).run(this); }

GgufFile::GgufFile(const std::string& path) : file_(std::make_shared<MappedFile>(path)), path_(path) {
  parse(file_->data(), file_->size());
}

bool is_gguf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in && in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

GgufFile GgufFile::from_bytes(const uint8_t* data, size_t size, const std::string& name) {
  GgufFile f;
  f.path_ = name;
  f.parse(data, size);
  return f;
}

}  // namespace cpplm
