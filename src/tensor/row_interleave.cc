#include "tensor/row_interleave.h"

#include <cstring>

#include "base/status.h"

namespace limarp {
namespace {

constexpr int64_t kBlock = 32;

// Code bytes per block of a stored type (after its 2-byte scale).
int64_t code_bytes(DType stored) { return dtype_traits(stored).block_bytes - 2; }

// Byte offsets of a row's scale and of its code byte k inside one block column.
constexpr size_t scale_offset(int64_t lane) { return static_cast<size_t>(2 * lane); }
constexpr size_t code_offset(int64_t lane, int64_t k) {
  return static_cast<size_t>(32 + 64 * (k / 4) + 4 * lane + k % 4);
}

}  // namespace

std::optional<DType> interleaved_type(DType stored) {
  if (stored == DType::kQ4_0) return DType::kQ4_0R16;
  if (stored == DType::kQ8_0) return DType::kQ8_0R16;
  return std::nullopt;
}

std::optional<DType> stored_type(DType interleaved) {
  if (interleaved == DType::kQ4_0R16) return DType::kQ4_0;
  if (interleaved == DType::kQ8_0R16) return DType::kQ8_0;
  return std::nullopt;
}

size_t interleaved_column_bytes(DType interleaved) {
  return static_cast<size_t>(kInterleaveRows * dtype_traits(interleaved).block_bytes);
}

void interleave_rows(DType stored, const uint8_t* src, int64_t rows, int64_t n, uint8_t* dst) {
  LIMARP_CHECK(interleaved_type(stored).has_value() && rows % kInterleaveRows == 0 && n % kBlock == 0);
  const int64_t blocks = n / kBlock, codes = code_bytes(stored);
  const size_t block_bytes = static_cast<size_t>(codes + 2), ldw = static_cast<size_t>(blocks) * block_bytes;
  const size_t column = kInterleaveRows * block_bytes;
  for (int64_t g = 0; g < rows / kInterleaveRows; ++g) {
    uint8_t* out = dst + static_cast<size_t>(g) * kInterleaveRows * ldw;
    for (int64_t lane = 0; lane < kInterleaveRows; ++lane) {
      const uint8_t* row = src + static_cast<size_t>(g * kInterleaveRows + lane) * ldw;
      for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t* blk = row + static_cast<size_t>(b) * block_bytes;
        uint8_t* col = out + static_cast<size_t>(b) * column;
        std::memcpy(col + scale_offset(lane), blk, 2);
        for (int64_t k = 0; k < codes; k += 4) std::memcpy(col + code_offset(lane, k), blk + 2 + k, 4);
      }
    }
  }
}

void deinterleave_row(DType interleaved, const uint8_t* data, int64_t r, int64_t n, uint8_t* out) {
  const auto stored = stored_type(interleaved);
  LIMARP_CHECK(stored.has_value() && n % kBlock == 0);
  const int64_t blocks = n / kBlock, codes = code_bytes(*stored);
  const size_t block_bytes = static_cast<size_t>(codes + 2), ldw = static_cast<size_t>(blocks) * block_bytes;
  const size_t column = kInterleaveRows * block_bytes;
  const uint8_t* group = data + static_cast<size_t>(r / kInterleaveRows) * kInterleaveRows * ldw;
  const int64_t lane = r % kInterleaveRows;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* col = group + static_cast<size_t>(b) * column;
    uint8_t* blk = out + static_cast<size_t>(b) * block_bytes;
    std::memcpy(blk, col + scale_offset(lane), 2);
    for (int64_t k = 0; k < codes; k += 4) std::memcpy(blk + 2 + k, col + code_offset(lane, k), 4);
  }
}

}  // namespace limarp
