#include "formats/metadata.h"

#include <fmt/format.h>

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

MetaValue MetaValue::string_array(const std::vector<std::string>& items) {
  std::vector<MetaValue> v;
  v.reserve(items.size());
  for (const auto& s : items) v.push_back(str(s));
  return array(MetaType::kString, std::move(v));
}

MetaValue MetaValue::f32_array(const std::vector<float>& items) {
  std::vector<MetaValue> v;
  v.reserve(items.size());
  for (float x : items) v.push_back(f32(x));
  return array(MetaType::kF32, std::move(v));
}

MetaValue MetaValue::i32_array(const std::vector<int32_t>& items) {
  std::vector<MetaValue> v;
  v.reserve(items.size());
  for (int32_t x : items) v.push_back(i32(x));
  return array(MetaType::kI32, std::move(v));
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
      std::string out = fmt::format("{}[{}] [", meta_type_name(a.elem_type), a.items.size());
      for (size_t i = 0; i < a.items.size() && i < max_items; ++i)
        out += (i ? ", " : "") + a.items[i].to_display(max_items);
      if (a.items.size() > max_items) out += ", ...";
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
