// The AVX-512 kernels (each in its own file, compiled with AVX-512 flags).
#pragma once

#include "kernels/weight_kernels.h"

namespace limarp::kernels::avx512 {

extern const WeightKernel kQ4_0, kQ8_0, kQ4_K, kQ6_K, kF32, kF16, kBF16, kNF4;

}  // namespace limarp::kernels::avx512
