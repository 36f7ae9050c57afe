// Size arithmetic on numbers read from untrusted files. A tensor's byte size is a product of
// dimensions the file chose; wrapping past 2^64 would turn a hostile header into a small,
// plausible size. Every reader multiplies through this, so overflow is an error naming what
// was being sized instead of a wrapped number.
//
//   LIMARP_ASSIGN_OR_RETURN(uint64_t n, checked_mul(rows, row_bytes, "tensor blk.0.attn_q.weight"));
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace limarp {

inline Result<uint64_t> checked_mul(uint64_t a, uint64_t b, std::string_view what) {
  uint64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) return make_error("{}: size {} x {} overflows 64 bits", what, a, b);
  return out;
}

}  // namespace limarp
