#include "tensor/row_interleave.h"

#include <cstring>

#include "base/status.h"

namespace limarp {
namespace {

// How a stored block splits into the layout's two parts: f16 fields, then bytes moved four at
// a time. The fields lead the stored block except in Q6_K, whose d closes it.
struct BlockParts {
  int64_t elems, fields, bytes;
  size_t fields_at, bytes_at;  // offsets in the stored block
};

BlockParts parts(DType stored) {
  const DTypeTraits& t = dtype_traits(stored);
  const int64_t fields = stored == DType::kQ4_K ? 2 : 1;
  const auto bytes = static_cast<size_t>(t.block_bytes - 2 * fields);
  if (stored == DType::kQ6_K) return {t.block_elems, fields, static_cast<int64_t>(bytes), bytes, 0};
  return {t.block_elems, fields, static_cast<int64_t>(bytes), 0, static_cast<size_t>(2 * fields)};
}

// Byte offsets of a row's f16 field f and of its byte k after the fields, inside one block
// column.
constexpr size_t field_offset(int64_t lane, int64_t f) { return static_cast<size_t>(32 * f + 2 * lane); }
constexpr size_t byte_offset(const BlockParts& p, int64_t lane, int64_t k) {
  return static_cast<size_t>(32 * p.fields + 64 * (k / 4) + 4 * lane + k % 4);
}

// Calls copy(offset in the stored block, offset in the block column, bytes) for each piece of
// the block in `lane`.
template <typename Copy>
void for_each_piece(const BlockParts& p, int64_t lane, Copy copy) {
  for (int64_t f = 0; f < p.fields; ++f)
    copy(p.fields_at + static_cast<size_t>(2 * f), field_offset(lane, f), size_t{2});
  for (int64_t k = 0; k < p.bytes; k += 4) copy(p.bytes_at + static_cast<size_t>(k), byte_offset(p, lane, k), size_t{4});
}

}  // namespace

bool has_interleaved_layout(DType type) {
  return type == DType::kQ4_0 || type == DType::kQ8_0 || type == DType::kQ4_K || type == DType::kQ6_K;
}

size_t interleaved_column_bytes(DType type) {
  return static_cast<size_t>(kInterleaveRows * dtype_traits(type).block_bytes);
}

void interleave_rows(DType stored, const uint8_t* src, int64_t rows, int64_t n, uint8_t* dst) {
  const BlockParts p = parts(stored);
  LIMARP_CHECK(has_interleaved_layout(stored) && rows % kInterleaveRows == 0 && n % p.elems == 0);
  const int64_t blocks = n / p.elems;
  const size_t block_bytes = static_cast<size_t>(dtype_traits(stored).block_bytes);
  const size_t ldw = static_cast<size_t>(blocks) * block_bytes, column = kInterleaveRows * block_bytes;
  for (int64_t g = 0; g < rows / kInterleaveRows; ++g) {
    uint8_t* out = dst + static_cast<size_t>(g) * kInterleaveRows * ldw;
    for (int64_t lane = 0; lane < kInterleaveRows; ++lane) {
      const uint8_t* row = src + static_cast<size_t>(g * kInterleaveRows + lane) * ldw;
      for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t* blk = row + static_cast<size_t>(b) * block_bytes;
        uint8_t* col = out + static_cast<size_t>(b) * column;
        for_each_piece(p, lane, [&](size_t s, size_t c, size_t bytes) { std::memcpy(col + c, blk + s, bytes); });
      }
    }
  }
}

void deinterleave_row(DType type, const uint8_t* data, int64_t r, int64_t n, uint8_t* out) {
  LIMARP_CHECK(has_interleaved_layout(type));
  const BlockParts p = parts(type);
  LIMARP_CHECK(n % p.elems == 0);
  const int64_t blocks = n / p.elems;
  const size_t block_bytes = static_cast<size_t>(dtype_traits(type).block_bytes);
  const size_t ldw = static_cast<size_t>(blocks) * block_bytes, column = kInterleaveRows * block_bytes;
  const uint8_t* group = data + static_cast<size_t>(r / kInterleaveRows) * kInterleaveRows * ldw;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* col = group + static_cast<size_t>(b) * column;
    uint8_t* blk = out + static_cast<size_t>(b) * block_bytes;
    for_each_piece(p, r % kInterleaveRows,
                   [&](size_t s, size_t c, size_t bytes) { std::memcpy(blk + s, col + c, bytes); });
  }
}

}  // namespace limarp
