// Activation rows with one scale per super-block of 256 elements (as llama.cpp's q8_K), for the
// kernels that apply the K-quants' sub-block scales in integers: with one d_x per super-block a
// sub-block's integer dot times its scale adds into the super-block's integer sum, and only that
// sum converts to float. Coarser than a scale per 32 (kernels/activation_quant.h); the kernels
// using it say so. Per super-block, kSuperActBytes:
//   [0,256) int8 elements; [256,260) float d_x; [264,280) int16 sum of the elements of each
//   block of 32 (for Q4_K's mins); [280,312) int16 sum of each block of 16 (for Q6_K's offset);
//   the rest zero. Defined in a file compiled without ISA flags, so every level can point at it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace limarp::kernels {

constexpr size_t kSuperActBytes = 320;
constexpr size_t kSuperActScale = 256;   // float d_x
constexpr size_t kSuperActSums32 = 264;  // int16[8]
constexpr size_t kSuperActSums16 = 280;  // int16[16]

size_t super_act_bytes(int64_t n);
void prepare_super_act(const float* x, int64_t n, uint8_t* out);

}  // namespace limarp::kernels
