// The AVX2 kernels for the 16-row interleaved layouts (compiled with AVX2 flags).
#pragma once

#include "kernels/weight_kernels.h"

namespace limarp::kernels::avx2 {

extern const WeightKernel kQ4_0R16, kQ8_0R16;

}  // namespace limarp::kernels::avx2
