// The scalar level's prepared activation rows for integer kernels, shared with SIMD kernels
// that read the same layout (cpu/arm): one activation scale per block of kActBlock elements.
// Per row of n (nb = n / kActBlock blocks): [d: float × nb][sum: int32 × nb][q: int8 × n],
// padded to a multiple of 64 bytes. Defined in a file compiled without ISA flags, so every level
// can point at it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/activation_quant.h"

namespace limarp::kernels {

size_t int_act_bytes(int64_t n);
void prepare_int_act(const float* x, int64_t n, uint8_t* out);

struct IntActView {
  const float* d;      // [nb] scales
  const int32_t* sum;  // [nb] sums of q
  const int8_t* q;     // [n]
};

inline IntActView int_act_view(const uint8_t* px, int64_t n) {
  const int64_t nb = n / kActBlock;
  return {reinterpret_cast<const float*>(px), reinterpret_cast<const int32_t*>(px + nb * 4),
          reinterpret_cast<const int8_t*>(px + nb * 8)};
}

}  // namespace limarp::kernels
