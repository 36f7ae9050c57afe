// Element types and their block layouts. Quantized types store fixed-size blocks of elements
// along a row; a row's byte size is (elements / block_elements) * block_bytes.
// Type ids are GGUF's (ggml's) so files round-trip; NF4 has no GGUF id and uses one of ours.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace limarp {

enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kBF16 = 30,
  // limarp's own: bitsandbytes NF4, blocks of 64 = f32 absmax + 32 bytes (first value in the
  // high nibble). Outside ggml's id range so no GGUF reader mistakes it for one of its types.
  kNF4 = 1024,
};

struct DTypeTraits {
  DType type;
  const char* name;      // "f32", "q4_0", ... as users type them
  int64_t block_elems;   // elements per block (1 for plain types)
  int64_t block_bytes;   // bytes per block
  bool quantized;
};

// Traits for a GGUF/limarp type id, or nullopt for an id we do not know.
std::optional<DTypeTraits> dtype_traits_for_id(uint32_t id);
const DTypeTraits& dtype_traits(DType type);
inline const char* dtype_name(DType type) { return dtype_traits(type).name; }
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes for a row of n elements; nullopt when n is not a whole number of blocks.
std::optional<uint64_t> row_bytes(DType type, int64_t n);

}  // namespace limarp
