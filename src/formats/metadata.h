// Typed key/value metadata, as GGUF stores it (and as other formats are mapped into).
// Insertion order is kept so files round-trip byte for byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace limarp {

// GGUF value type ids.
enum class MetaType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
const char* meta_type_name(MetaType type);

// Size in bytes of one fixed-size element (0 for strings and nested arrays).
size_t meta_type_size(MetaType type);

struct MetaValue;
// An array stored by its element type: numbers and bools as their raw little-endian bytes
// (a 30 MB u8 array costs 30 MB, not one variant per byte), strings as strings, nested
// arrays as values. Readers cap the sizes (formats/gguf.h).
class MetaArray {
 public:
  MetaArray() = default;
  explicit MetaArray(MetaType elem) : elem_type_(elem) {}
  static MetaArray from_values(MetaType elem, const std::vector<MetaValue>& items);
  static MetaArray from_raw(MetaType elem, std::vector<uint8_t> raw);  // raw.size() a multiple of the element size
  static MetaArray from_strings(std::vector<std::string> items);

  MetaType elem_type() const { return elem_type_; }
  size_t size() const;
  bool empty() const { return size() == 0; }
  // Element i converted: integers (and bools) as int64 when they fit, numbers as double,
  // strings by pointer; nullopt / nullptr for another element type.
  std::optional<int64_t> int_at(size_t i) const;
  std::optional<double> double_at(size_t i) const;
  const std::string* string_at(size_t i) const;
  MetaValue value_at(size_t i) const;  // any element, boxed (for display and generic code)
  const std::vector<uint8_t>& raw() const { return raw_; }
  const std::vector<std::string>& strings() const { return strings_; }
  const std::vector<MetaValue>& arrays() const { return arrays_; }
  // What the array holds in memory, for the readers' caps.
  uint64_t memory_bytes() const;

  friend bool operator==(const MetaArray& a, const MetaArray& b);

 private:
  MetaType elem_type_ = MetaType::kU8;
  std::vector<uint8_t> raw_;
  std::vector<std::string> strings_;
  std::vector<MetaValue> arrays_;
};

struct MetaValue {
  MetaType type = MetaType::kU8;
  // Integers (and bools) in int64 or uint64 by signedness, floats in double.
  std::variant<uint64_t, int64_t, double, std::string, MetaArray> v;

  static MetaValue u32(uint32_t x) { return {MetaType::kU32, uint64_t{x}}; }
  static MetaValue i32(int32_t x) { return {MetaType::kI32, int64_t{x}}; }
  static MetaValue u64(uint64_t x) { return {MetaType::kU64, x}; }
  static MetaValue f32(float x) { return {MetaType::kF32, double{x}}; }
  static MetaValue boolean(bool x) { return {MetaType::kBool, uint64_t{x}}; }
  static MetaValue str(std::string s) { return {MetaType::kString, std::move(s)}; }
  static MetaValue array(MetaType elem, const std::vector<MetaValue>& items) {
    return {MetaType::kArray, MetaArray::from_values(elem, items)};
  }
  static MetaValue array(MetaArray a) { return {MetaType::kArray, std::move(a)}; }
  static MetaValue string_array(const std::vector<std::string>& items);
  static MetaValue f32_array(const std::vector<float>& items);
  static MetaValue i32_array(const std::vector<int32_t>& items);

  bool is_integer() const;
  bool is_number() const { return is_integer() || type == MetaType::kF32 || type == MetaType::kF64; }
  std::optional<int64_t> as_int() const;
  std::optional<double> as_double() const;
  const std::string* as_string() const { return std::get_if<std::string>(&v); }
  const MetaArray* as_array() const { return std::get_if<MetaArray>(&v); }
  std::string to_display(size_t max_items = 8) const;  // for `limarp info`
};

// Exact equality: same type and value (floats compared as stored).
bool operator==(const MetaValue& a, const MetaValue& b);

class Metadata {
 public:
  const MetaValue* find(std::string_view key) const;
  void set(std::string key, MetaValue value);
  bool erase(std::string_view key);
  const std::vector<std::pair<std::string, MetaValue>>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_double(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;

 private:
  std::vector<std::pair<std::string, MetaValue>> entries_;
};

}  // namespace limarp
