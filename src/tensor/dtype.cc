#include "tensor/dtype.h"

#include <array>

namespace limarp {
namespace {

constexpr std::array kTraits = {
    DTypeTraits{DType::kF32, "f32", 1, 4, false},
    DTypeTraits{DType::kF16, "f16", 1, 2, false},
    DTypeTraits{DType::kQ4_0, "q4_0", 32, 18, true},
    DTypeTraits{DType::kQ4_1, "q4_1", 32, 20, true},
    DTypeTraits{DType::kQ5_0, "q5_0", 32, 22, true},
    DTypeTraits{DType::kQ5_1, "q5_1", 32, 24, true},
    DTypeTraits{DType::kQ8_0, "q8_0", 32, 34, true},
    DTypeTraits{DType::kQ8_1, "q8_1", 32, 36, true},
    DTypeTraits{DType::kQ2_K, "q2_k", 256, 84, true},
    DTypeTraits{DType::kQ3_K, "q3_k", 256, 110, true},
    DTypeTraits{DType::kQ4_K, "q4_k", 256, 144, true},
    DTypeTraits{DType::kQ5_K, "q5_k", 256, 176, true},
    DTypeTraits{DType::kQ6_K, "q6_k", 256, 210, true},
    DTypeTraits{DType::kQ8_K, "q8_k", 256, 292, true},
    DTypeTraits{DType::kI8, "i8", 1, 1, false},
    DTypeTraits{DType::kI16, "i16", 1, 2, false},
    DTypeTraits{DType::kI32, "i32", 1, 4, false},
    DTypeTraits{DType::kI64, "i64", 1, 8, false},
    DTypeTraits{DType::kF64, "f64", 1, 8, false},
    DTypeTraits{DType::kBF16, "bf16", 1, 2, false},
    DTypeTraits{DType::kNF4, "nf4", 64, 36, true},
};

}  // namespace

std::optional<DTypeTraits> dtype_traits_for_id(uint32_t id) {
  for (const auto& t : kTraits)
    if (static_cast<uint32_t>(t.type) == id) return t;
  return std::nullopt;
}

const DTypeTraits& dtype_traits(DType type) {
  for (const auto& t : kTraits)
    if (t.type == type) return t;
  return kTraits[0];  // unreachable for valid enum values
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& t : kTraits)
    if (name == t.name) return t.type;
  // Accept upper-case spellings users copy from llama.cpp ("Q4_0", "F16").
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  for (const auto& t : kTraits)
    if (lower == t.name) return t.type;
  return std::nullopt;
}

std::optional<uint64_t> row_bytes(DType type, int64_t n) {
  const auto& t = dtype_traits(type);
  if (n < 0 || n % t.block_elems != 0) return std::nullopt;
  return static_cast<uint64_t>(n / t.block_elems) * static_cast<uint64_t>(t.block_bytes);
}

}  // namespace limarp
