#include "formats/metadata.h"

#include <fmt/format.h>

#include <climits>
#include <cstring>

namespace limarp {

const char* meta_type_name(MetaType type) {
  switch (type) {
    case MetaType::kU8: return "u8";
    case MetaType::kI8: return "i8";
    case MetaType::kU16: return "u16";
    case MetaType::kI16: return "i16";
    case MetaType::kU32: return "u32";
    case MetaType::kI32: return "i32";
    case MetaType::kF32: return "f32";
    case MetaType::kBool: return "bool";
    case MetaType::kString: return "string";
    case MetaType::kArray: return "array";
    case MetaType::kU64: return "u64";
    case MetaType::kI64: return "i64";
    case MetaType::kF64: return "f64";
  }
  return "?";
}

size_t meta_type_size(MetaType type) {
  switch (type) {
    case MetaType::kU8: case MetaType::kI8: case MetaType::kBool: return 1;
    case MetaType::kU16: case MetaType::kI16: return 2;
    case MetaType::kU32: case MetaType::kI32: case MetaType::kF32: return 4;
    case MetaType::kU64: case MetaType::kI64: case MetaType::kF64: return 8;
    case MetaType::kString: case MetaType::kArray: return 0;
  }
  return 0;
}

namespace {

template <typename T>
T load_element(const std::vector<uint8_t>& raw, size_t i) {
  T x;
  std::memcpy(&x, raw.data() + i * sizeof(T), sizeof(T));
  return x;
}

template <typename T>
void store_element(std::vector<uint8_t>& raw, T x) {
  const auto* p = reinterpret_cast<const uint8_t*>(&x);
  raw.insert(raw.end(), p, p + sizeof(T));
}

// Appends a boxed scalar in the array's element encoding.
void append_raw(std::vector<uint8_t>& raw, MetaType elem, const MetaValue& v) {
  const uint64_t u = v.as_int() ? static_cast<uint64_t>(*v.as_int()) : 0;
  const double d = v.as_double().value_or(0);
  switch (elem) {
    case MetaType::kU8: case MetaType::kBool: store_element<uint8_t>(raw, static_cast<uint8_t>(u)); break;
    case MetaType::kI8: store_element<int8_t>(raw, static_cast<int8_t>(u)); break;
    case MetaType::kU16: store_element<uint16_t>(raw, static_cast<uint16_t>(u)); break;
    case MetaType::kI16: store_element<int16_t>(raw, static_cast<int16_t>(u)); break;
    case MetaType::kU32: store_element<uint32_t>(raw, static_cast<uint32_t>(u)); break;
    case MetaType::kI32: store_element<int32_t>(raw, static_cast<int32_t>(u)); break;
    case MetaType::kU64: store_element<uint64_t>(raw, std::get_if<uint64_t>(&v.v) ? std::get<uint64_t>(v.v) : u); break;
    case MetaType::kI64: store_element<int64_t>(raw, static_cast<int64_t>(u)); break;
    case MetaType::kF32: store_element<float>(raw, static_cast<float>(d)); break;
    case MetaType::kF64: store_element<double>(raw, d); break;
    case MetaType::kString: case MetaType::kArray: break;
  }
}

}  // namespace

MetaArray MetaArray::from_values(MetaType elem, const std::vector<MetaValue>& items) {
  MetaArray a(elem);
  for (const auto& v : items) {
    if (elem == MetaType::kString) a.strings_.push_back(v.as_string() ? *v.as_string() : std::string());
    else if (elem == MetaType::kArray) a.arrays_.push_back(v);
    else append_raw(a.raw_, elem, v);
  }
  return a;
}

MetaArray MetaArray::from_raw(MetaType elem, std::vector<uint8_t> raw) {
  MetaArray a(elem);
  a.raw_ = std::move(raw);
  return a;
}

MetaArray MetaArray::from_strings(std::vector<std::string> items) {
  MetaArray a(MetaType::kString);
  a.strings_ = std::move(items);
  return a;
}

size_t MetaArray::size() const {
  if (elem_type_ == MetaType::kString) return strings_.size();
  if (elem_type_ == MetaType::kArray) return arrays_.size();
  return raw_.size() / meta_type_size(elem_type_);
}

std::optional<int64_t> MetaArray::int_at(size_t i) const {
  if (i >= size()) return std::nullopt;
  switch (elem_type_) {
    case MetaType::kU8: case MetaType::kBool: return load_element<uint8_t>(raw_, i);
    case MetaType::kI8: return load_element<int8_t>(raw_, i);
    case MetaType::kU16: return load_element<uint16_t>(raw_, i);
    case MetaType::kI16: return load_element<int16_t>(raw_, i);
    case MetaType::kU32: return load_element<uint32_t>(raw_, i);
    case MetaType::kI32: return load_element<int32_t>(raw_, i);
    case MetaType::kI64: return load_element<int64_t>(raw_, i);
    case MetaType::kU64: {
      const auto u = load_element<uint64_t>(raw_, i);
      if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
      return static_cast<int64_t>(u);
    }
    default: return std::nullopt;
  }
}

std::optional<double> MetaArray::double_at(size_t i) const {
  if (i >= size()) return std::nullopt;
  if (elem_type_ == MetaType::kF32) return load_element<float>(raw_, i);
  if (elem_type_ == MetaType::kF64) return load_element<double>(raw_, i);
  if (elem_type_ == MetaType::kU64) return static_cast<double>(load_element<uint64_t>(raw_, i));
  if (auto x = int_at(i)) return static_cast<double>(*x);
  return std::nullopt;
}

const std::string* MetaArray::string_at(size_t i) const {
  return elem_type_ == MetaType::kString && i < strings_.size() ? &strings_[i] : nullptr;
}

MetaValue MetaArray::value_at(size_t i) const {
  switch (elem_type_) {
    case MetaType::kString: return MetaValue::str(strings_.at(i));
    case MetaType::kArray: return arrays_.at(i);
    case MetaType::kF32: case MetaType::kF64: return {elem_type_, *double_at(i)};
    case MetaType::kU64: return {elem_type_, load_element<uint64_t>(raw_, i)};
    case MetaType::kI8: case MetaType::kI16: case MetaType::kI32: case MetaType::kI64:
      return {elem_type_, *int_at(i)};
    default: return {elem_type_, static_cast<uint64_t>(*int_at(i))};
  }
}

uint64_t MetaArray::memory_bytes() const {
  uint64_t n = raw_.size() + strings_.size() * sizeof(std::string) + arrays_.size() * sizeof(MetaValue);
  for (const auto& s : strings_) n += s.capacity() >= sizeof(std::string) ? s.capacity() : 0;
  for (const auto& a : arrays_)
    if (const MetaArray* inner = a.as_array()) n += inner->memory_bytes();
  return n;
}

bool operator==(const MetaArray& a, const MetaArray& b) {
  return a.elem_type_ == b.elem_type_ && a.raw_ == b.raw_ && a.strings_ == b.strings_ && a.arrays_ == b.arrays_;
}

MetaValue MetaValue::string_array(const std::vector<std::string>& items) {
  return array(MetaArray::from_strings(items));
}

MetaValue MetaValue::f32_array(const std::vector<float>& items) {
  std::vector<uint8_t> raw(items.size() * sizeof(float));
  if (!items.empty()) std::memcpy(raw.data(), items.data(), raw.size());
  return array(MetaArray::from_raw(MetaType::kF32, std::move(raw)));
}

MetaValue MetaValue::i32_array(const std::vector<int32_t>& items) {
  std::vector<uint8_t> raw(items.size() * sizeof(int32_t));
  if (!items.empty()) std::memcpy(raw.data(), items.data(), raw.size());
  return array(MetaArray::from_raw(MetaType::kI32, std::move(raw)));
}

bool MetaValue::is_integer() const {
  switch (type) {
    case MetaType::kU8: case MetaType::kI8: case MetaType::kU16: case MetaType::kI16:
    case MetaType::kU32: case MetaType::kI32: case MetaType::kU64: case MetaType::kI64:
    case MetaType::kBool:
      return true;
    default:
      return false;
  }
}

std::optional<int64_t> MetaValue::as_int() const {
  if (const auto* u = std::get_if<uint64_t>(&v)) {
    if (*u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(*u);
  }
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  return std::nullopt;
}

std::optional<double> MetaValue::as_double() const {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&v)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return std::nullopt;
}

std::string MetaValue::to_display(size_t max_items) const {
  switch (type) {
    case MetaType::kString: {
      std::string s = *as_string();
      if (s.size() > 80) s = s.substr(0, 77) + "...";
      return fmt::format("\"{}\"", s);
    }
    case MetaType::kBool: return std::get<uint64_t>(v) ? "true" : "false";
    case MetaType::kF32: case MetaType::kF64: return fmt::format("{}", std::get<double>(v));
    case MetaType::kArray: {
      const auto& a = std::get<MetaArray>(v);
      std::string out = fmt::format("{}[{}] [", meta_type_name(a.elem_type()), a.size());
      for (size_t i = 0; i < a.size() && i < max_items; ++i)
        out += (i ? ", " : "") + a.value_at(i).to_display(max_items);
      if (a.size() > max_items) out += ", ...";
      return out + "]";
    }
    default: {
      if (const auto* u = std::get_if<uint64_t>(&v)) return fmt::format("{}", *u);
      return fmt::format("{}", std::get<int64_t>(v));
    }
  }
}

bool operator==(const MetaValue& a, const MetaValue& b) { return a.type == b.type && a.v == b.v; }

const MetaValue* Metadata::find(std::string_view key) const {
  for (const auto& [k, val] : entries_)
    if (k == key) return &val;
  return nullptr;
}

void Metadata::set(std::string key, MetaValue value) {
  for (auto& [k, val] : entries_)
    if (k == key) {
      val = std::move(value);
      return;
    }
  entries_.emplace_back(std::move(key), std::move(value));
}

bool Metadata::erase(std::string_view key) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it)
    if (it->first == key) {
      entries_.erase(it);
      return true;
    }
  return false;
}

std::optional<int64_t> Metadata::get_int(std::string_view key) const {
  const auto* v = find(key);
  return v ? v->as_int() : std::nullopt;
}
std::optional<double> Metadata::get_double(std::string_view key) const {
  const auto* v = find(key);
  return v ? v->as_double() : std::nullopt;
}
std::optional<std::string> Metadata::get_string(std::string_view key) const {
  const auto* v = find(key);
  if (!v || !v->as_string()) return std::nullopt;
  return *v->as_string();
}

}  // namespace limarp
