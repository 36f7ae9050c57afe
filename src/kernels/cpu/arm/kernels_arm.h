// The AArch64 levels: NEON (Advanced SIMD, in every AArch64 processor) and NEON with the
// Armv8.2 dot product (SDOT), each in its own folder compiled with its flags; arm_family.cc
// registers them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/gemm.h"
#include "kernels/weight_kernels.h"

namespace limarp::kernels::arm {

// Weight kernels of each level (neon/weight_kernels_neon.cc, dotprod/weight_kernels_dotprod.cc).
const WeightKernel* neon_kernels(size_t* count);
const WeightKernel* dotprod_kernels(size_t* count);

// kernels/gemm.h's core with NEON (neon/gemm.cc); the dot-product level shares it.
void gemm_accumulate(float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t M, int64_t N,
                     int64_t K, float alpha);

}  // namespace limarp::kernels::arm
