// The AVX2 kernels in files of their own (compiled with AVX2 flags), for kernels_avx2.cc's
// table: the 16-row interleaved layouts (interleaved.cc) and Q6_K (q6_k.cc).
#pragma once

#include "kernels/weight_kernels.h"

namespace limarp::kernels::avx2 {

extern const WeightKernel kQ4_0R16, kQ8_0R16, kQ4_KR16, kQ6_K;

}  // namespace limarp::kernels::avx2
