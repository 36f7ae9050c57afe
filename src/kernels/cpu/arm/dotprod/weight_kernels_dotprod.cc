// The dot-product level's weight kernels: neon_int_dots.h with SDOT, four int8 products summed
// into each 32-bit lane in one instruction. Compiled for Armv8.2-A + dotprod; registered only
// where hwcaps report the extension (cpu/arm/arm_family.cc).
#include "kernels/cpu/arm/kernels_arm.h"
#include "kernels/cpu/arm/neon_int_dots.h"

namespace limarp::kernels::arm {
namespace {

struct SdotDot {
  static int32x4_t dot(int32x4_t acc, int8x16_t a, int8x16_t b) { return vdotq_s32(acc, a, b); }
};

const WeightKernel kKernels[] = {
    {"q8_0/dotprod", DType::kQ8_0, Isa::kDotprod, 32, int_act_bytes, prepare_int_act, int_tile<dot_q8_0<SdotDot>>},
    {"q4_0/dotprod", DType::kQ4_0, Isa::kDotprod, 32, int_act_bytes, prepare_int_act, int_tile<dot_q4_0<SdotDot>>},
    {"q4_k/dotprod", DType::kQ4_K, Isa::kDotprod, 256, int_act_bytes, prepare_int_act, int_tile<dot_q4_k<SdotDot>>},
    {"q6_k/dotprod", DType::kQ6_K, Isa::kDotprod, 256, int_act_bytes, prepare_int_act, int_tile<dot_q6_k<SdotDot>>},
};

}  // namespace

const WeightKernel* dotprod_kernels(size_t* count) {
  *count = sizeof(kKernels) / sizeof(kKernels[0]);
  return kKernels;
}

}  // namespace limarp::kernels::arm
