// Activation rows for the 16-row interleaved Q4_0 and Q8_0 kernels (tensor/row_interleave.h),
// the same at every SIMD level. Per block of 32 elements, 64 bytes:
//   [0,32) int8 elements; [32,36) float d_x; [36,40) int32 -offset * sum_x (offset 8 for Q4_0,
//   128 for Q8_0: the codes' offset, for kernels that multiply unsigned codes); the rest zero.
// Defined in a file compiled without ISA flags, so every level's table can point at it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace limarp::kernels {

constexpr size_t kInterleavedActBytes = 64;

size_t interleaved_act_bytes(int64_t n);
void prepare_interleaved_q4_0(const float* x, int64_t n, uint8_t* out);
void prepare_interleaved_q8_0(const float* x, int64_t n, uint8_t* out);

}  // namespace limarp::kernels
