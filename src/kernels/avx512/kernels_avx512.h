// The AVX-512 kernels (each in its own file, compiled with AVX-512 flags).
#pragma once

#include "kernels/weight_kernels.h"

namespace limarp::kernels::avx512 {

extern const WeightKernel kQ4_0, kQ4_0R16, kQ8_0, kQ8_0R16, kQ4_K, kQ4_KR16, kQ6_K, kF32, kF16, kBF16, kNF4;

// A whole row dequantized with AVX-512; false for types without a vector path here.
bool dequantize_row(DType type, const void* src, float* dst, int64_t n);

}  // namespace limarp::kernels::avx512
