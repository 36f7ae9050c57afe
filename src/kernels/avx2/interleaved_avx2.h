// The AVX2 kernels kept outside kernels_avx2.cc's table file (compiled with AVX2 flags): the
// 16-row interleaved layouts, and Q6_K.
#pragma once

#include "kernels/weight_kernels.h"

namespace limarp::kernels::avx2 {

extern const WeightKernel kQ4_0R16, kQ8_0R16, kQ4_KR16, kQ6_K;

}  // namespace limarp::kernels::avx2
