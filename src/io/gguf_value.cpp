// GGUF type tables, metadata value access and the typed getters of GgufFile.
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "io/gguf.h"

namespace cpplm {

namespace {

const char* const kGgufTypeNames[] = {"UINT8", "INT8",   "UINT16", "INT16",  "UINT32", "INT32",  "FLOAT32",
                                      "BOOL",  "STRING", "ARRAY",  "UINT64", "INT64",  "FLOAT64"};

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::UINT8:
    case GgufType::INT8:
    case GgufType::BOOL: return 1;
    case GgufType::UINT16:
    case GgufType::INT16: return 2;
    case GgufType::UINT32:
    case GgufType::INT32:
    case GgufType::FLOAT32: return 4;
    default: return 8;
  }
}

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // little-endian file on a little-endian host; unaligned
  return v;
}

bool is_signed(GgufType t) { return t == GgufType::INT8 || t == GgufType::INT16 || t == GgufType::INT32 || t == GgufType::INT64; }
bool is_int(GgufType t) {
  return t == GgufType::UINT8 || t == GgufType::INT8 || t == GgufType::UINT16 || t == GgufType::INT16 || t == GgufType::UINT32 ||
         t == GgufType::INT32 || t == GgufType::UINT64 || t == GgufType::INT64;
}

}  // namespace

// Reads one numeric element into the widened fields (signed, unsigned, float); shared with the parser.
void gguf_read_number(GgufType t, const uint8_t* p, int64_t* i, uint64_t* u, double* f) {
  switch (t) {
    case GgufType::UINT8:
    case GgufType::BOOL: *u = load<uint8_t>(p); break;
    case GgufType::INT8: *i = load<int8_t>(p); break;
    case GgufType::UINT16: *u = load<uint16_t>(p); break;
    case GgufType::INT16: *i = load<int16_t>(p); break;
    case GgufType::UINT32: *u = load<uint32_t>(p); break;
    case GgufType::INT32: *i = load<int32_t>(p); break;
    case GgufType::UINT64: *u = load<uint64_t>(p); break;
    case GgufType::INT64: *i = load<int64_t>(p); break;
    case GgufType::FLOAT32: *f = load<float>(p); return;
    case GgufType::FLOAT64: *f = load<double>(p); return;
    default: return;
  }
  if (is_signed(t)) {
    *u = static_cast<uint64_t>(*i);
    *f = static_cast<double>(*i);
  } else {
    *i = static_cast<int64_t>(*u);
    *f = static_cast<double>(*u);
  }
}

namespace {

Error type_error(GgufType have, const char* want) {
  return Error(std::string("GGUF value is ") + gguf_type_name(have) + ", not " + want);
}

}  // namespace

const char* gguf_type_name(GgufType type) {
  auto i = static_cast<uint32_t>(type);
  return i < std::size(kGgufTypeNames) ? kGgufTypeNames[i] : "unknown";
}

size_t gguf_scalar_size(GgufType t) { return scalar_size(t); }

bool GgufValue::is_integer() const { return is_int(type_); }

int64_t GgufValue::as_i64() const {
  if (!is_int(type_)) throw type_error(type_, "an integer");
  if (!is_signed(type_) && u_ > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw Error("GGUF value " + std::to_string(u_) + " does not fit in int64");
  return i_;
}

uint64_t GgufValue::as_u64() const {
  if (!is_int(type_)) throw type_error(type_, "an integer");
  if (is_signed(type_) && i_ < 0) throw Error("GGUF value " + std::to_string(i_) + " is negative");
  return u_;
}

double GgufValue::as_f64() const {
  if (!is_float() && !is_int(type_)) throw type_error(type_, "a number");
  return f_;
}

bool GgufValue::as_bool() const {
  if (type_ != GgufType::BOOL) throw type_error(type_, "BOOL");
  return u_ != 0;
}

std::string_view GgufValue::as_string() const {
  if (type_ != GgufType::STRING) throw type_error(type_, "STRING");
  return s_;
}

void GgufValue::check_index(size_t i, GgufType want) const {
  if (type_ != GgufType::ARRAY) throw type_error(type_, "ARRAY");
  if (i >= n_) throw Error("GGUF array index " + std::to_string(i) + " out of range (size " + std::to_string(n_) + ")");
  bool ok = want == elem_type_ || (want == GgufType::INT64 && is_int(elem_type_)) ||
            (want == GgufType::FLOAT64 && (is_int(elem_type_) || elem_type_ == GgufType::FLOAT32));
  if (!ok) throw Error(std::string("GGUF array of ") + gguf_type_name(elem_type_) + " read as " + gguf_type_name(want));
}

GgufValue::Number GgufValue::element(size_t i, GgufType want) const {
  check_index(i, want);
  Number n;
  gguf_read_number(elem_type_, raw_ + i * scalar_size(elem_type_), &n.i, &n.u, &n.f);
  return n;
}

int64_t GgufValue::int_at(size_t i) const {
  const Number n = element(i, GgufType::INT64);
  if (!is_signed(elem_type_) && n.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw Error("GGUF array element " + std::to_string(n.u) + " does not fit in int64");
  return n.i;
}

uint64_t GgufValue::uint_at(size_t i) const {
  const Number n = element(i, GgufType::INT64);
  if (is_signed(elem_type_) && n.i < 0) throw Error("GGUF array element " + std::to_string(n.i) + " is negative");
  return n.u;
}

double GgufValue::float_at(size_t i) const { return element(i, GgufType::FLOAT64).f; }

bool GgufValue::bool_at(size_t i) const {
  check_index(i, GgufType::BOOL);
  return raw_[i] != 0;
}

std::string_view GgufValue::string_at(size_t i) const {
  check_index(i, GgufType::STRING);
  return strings_[i];
}

const GgufValue& GgufValue::array_at(size_t i) const {
  check_index(i, GgufType::ARRAY);
  return items_[i];
}

uint64_t GgufTensor::numel() const {
  uint64_t n = 1;
  for (uint64_t d : ne) n *= d;
  return n;
}

// ---- GgufFile lookups and typed getters ----

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufValue& GgufFile::require(const std::string& key, bool ok_type(const GgufValue&), const char* want) const {
  const GgufValue* v = find(key);
  if (!v) throw Error(path_ + ": metadata key '" + key + "' is missing (expected " + want + ")");
  if (!ok_type(*v)) throw Error(path_ + ": metadata key '" + key + "' is " + gguf_type_name(v->type()) + ", expected " + want);
  return *v;
}

namespace {
bool int_type(const GgufValue& v) { return v.is_integer(); }
bool num_type(const GgufValue& v) { return v.is_integer() || v.is_float(); }
bool bool_type(const GgufValue& v) { return v.type() == GgufType::BOOL; }
bool str_type(const GgufValue& v) { return v.type() == GgufType::STRING; }
bool arr_type(const GgufValue& v) { return v.is_array(); }
}  // namespace

uint64_t GgufFile::get_u64(const std::string& key) const {
  const GgufValue& v = require(key, int_type, "an unsigned integer");
  if (is_signed(v.type()) && v.as_i64() < 0)
    throw Error(path_ + ": metadata key '" + key + "' is " + std::to_string(v.as_i64()) + ", expected an unsigned integer");
  return v.as_u64();
}

uint32_t GgufFile::get_u32(const std::string& key) const {
  uint64_t u = get_u64(key);
  if (u > std::numeric_limits<uint32_t>::max())
    throw Error(path_ + ": metadata key '" + key + "' is " + std::to_string(u) + ", too large for the expected UINT32");
  return static_cast<uint32_t>(u);
}

int64_t GgufFile::get_i64(const std::string& key) const {
  const GgufValue& v = require(key, int_type, "an integer");
  if (!is_signed(v.type()) && v.as_u64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw Error(path_ + ": metadata key '" + key + "' is " + std::to_string(v.as_u64()) + ", too large for the expected INT64");
  return v.as_i64();
}

float GgufFile::get_f32(const std::string& key) const {
  return static_cast<float>(require(key, num_type, "a number (FLOAT32)").as_f64());
}

bool GgufFile::get_bool(const std::string& key) const { return require(key, bool_type, "BOOL").as_bool(); }

std::string GgufFile::get_string(const std::string& key) const {
  return std::string(require(key, str_type, "STRING").as_string());
}

const GgufValue& GgufFile::get_array(const std::string& key) const { return require(key, arr_type, "ARRAY"); }

std::optional<uint32_t> GgufFile::get_u32_opt(const std::string& key) const {
  return has(key) ? std::optional<uint32_t>(get_u32(key)) : std::nullopt;
}
std::optional<uint64_t> GgufFile::get_u64_opt(const std::string& key) const {
  return has(key) ? std::optional<uint64_t>(get_u64(key)) : std::nullopt;
}
std::optional<float> GgufFile::get_f32_opt(const std::string& key) const {
  return has(key) ? std::optional<float>(get_f32(key)) : std::nullopt;
}
std::optional<bool> GgufFile::get_bool_opt(const std::string& key) const {
  return has(key) ? std::optional<bool>(get_bool(key)) : std::nullopt;
}
std::optional<std::string> GgufFile::get_string_opt(const std::string& key) const {
  return has(key) ? std::optional<std::string>(get_string(key)) : std::nullopt;
}
const GgufValue* GgufFile::get_array_opt(const std::string& key) const { return has(key) ? &get_array(key) : nullptr; }

}  // namespace cpplm
