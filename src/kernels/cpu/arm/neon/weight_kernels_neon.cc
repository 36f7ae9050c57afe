// The NEON level's weight kernels: neon_int_dots.h with the products of int8 pairs widened to
// 16 bits (SMULL) and added pairwise into 32 (SADALP), which every AArch64 processor has.
#include "kernels/cpu/arm/kernels_arm.h"
#include "kernels/cpu/arm/neon_int_dots.h"

namespace limarp::kernels::arm {
namespace {

struct WideningDot {
  // |q| <= 127 on the activations and 128 on the weights, so a product fits int16; pairs of
  // products may not, hence the pairwise add into 32 bits.
  static int32x4_t dot(int32x4_t acc, int8x16_t a, int8x16_t b) {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
  }
};

const WeightKernel kKernels[] = {
    {"q8_0/neon", DType::kQ8_0, Isa::kNeon, 32, int_act_bytes, prepare_int_act, int_tile<dot_q8_0<WideningDot>>},
    {"q4_0/neon", DType::kQ4_0, Isa::kNeon, 32, int_act_bytes, prepare_int_act, int_tile<dot_q4_0<WideningDot>>},
    {"q4_k/neon", DType::kQ4_K, Isa::kNeon, 256, int_act_bytes, prepare_int_act, int_tile<dot_q4_k<WideningDot>>},
    {"q6_k/neon", DType::kQ6_K, Isa::kNeon, 256, int_act_bytes, prepare_int_act, int_tile<dot_q6_k<WideningDot>>},
};

}  // namespace

const WeightKernel* neon_kernels(size_t* count) {
  *count = sizeof(kKernels) / sizeof(kKernels[0]);
  return kKernels;
}

}  // namespace limarp::kernels::arm
