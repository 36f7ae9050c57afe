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

struct MetaValue;
struct MetaArray {
  MetaType elem_type = MetaType::kU8;
  std::vector<MetaValue> items;
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
  static MetaValue array(MetaType elem, std::vector<MetaValue> items) {
    return {MetaType::kArray, MetaArray{elem, std::move(items)}};
  }
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
inline bool operator==(const MetaArray& a, const MetaArray& b) {
  return a.elem_type == b.elem_type && a.items == b.items;
}

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
