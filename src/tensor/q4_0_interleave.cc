#include "tensor/q4_0_interleave.h"

#include <cstring>

#include "tensor/quant_blocks.h"

namespace limarp {
namespace {

// Byte offsets of a row's scale and of its code byte k inside one 288-byte block column.
constexpr size_t scale_offset(int64_t lane) { return static_cast<size_t>(2 * lane); }
constexpr size_t code_offset(int64_t lane, int k) {
  return static_cast<size_t>(32 + 64 * (k / 4) + 4 * lane + k % 4);
}

}  // namespace

void interleave_q4_0(const uint8_t* src, int64_t rows, int64_t n, uint8_t* dst) {
  const int64_t blocks = n / kQK;
  const size_t ldw = static_cast<size_t>(blocks) * sizeof(BlockQ4_0);
  for (int64_t g = 0; g < rows / kQ4_0R16Rows; ++g) {
    uint8_t* out = dst + static_cast<size_t>(g) * kQ4_0R16Rows * ldw;
    for (int64_t lane = 0; lane < kQ4_0R16Rows; ++lane) {
      const uint8_t* row = src + static_cast<size_t>(g * kQ4_0R16Rows + lane) * ldw;
      for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t* blk = row + b * sizeof(BlockQ4_0);
        uint8_t* col = out + static_cast<size_t>(b) * kQ4_0R16BlockBytes;
        std::memcpy(col + scale_offset(lane), blk, 2);
        for (int j = 0; j < 4; ++j) std::memcpy(col + code_offset(lane, 4 * j), blk + 2 + 4 * j, 4);
      }
    }
  }
}

void deinterleave_q4_0_row(const uint8_t* data, int64_t r, int64_t n, uint8_t* out) {
  const int64_t blocks = n / kQK;
  const size_t ldw = static_cast<size_t>(blocks) * sizeof(BlockQ4_0);
  const uint8_t* group = data + static_cast<size_t>(r / kQ4_0R16Rows) * kQ4_0R16Rows * ldw;
  const int64_t lane = r % kQ4_0R16Rows;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* col = group + static_cast<size_t>(b) * kQ4_0R16BlockBytes;
    uint8_t* blk = out + b * sizeof(BlockQ4_0);
    std::memcpy(blk, col + scale_offset(lane), 2);
    for (int j = 0; j < 4; ++j) std::memcpy(blk + 2 + 4 * j, col + code_offset(lane, 4 * j), 4);
  }
}

}  // namespace limarp
