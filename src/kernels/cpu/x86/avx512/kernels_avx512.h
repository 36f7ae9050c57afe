// The AVX-512 level (each file compiled with AVX-512 flags): what x86_family.cc registers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/gemm.h"
#include "kernels/lora.h"
#include "kernels/weight_kernels.h"

namespace limarp::kernels {

// This level's weight kernels (table.cc).
const WeightKernel* avx512_kernels(size_t* count);

}  // namespace limarp::kernels

namespace limarp::kernels::avx512 {

extern const WeightKernel kQ4_0, kQ4_0R16, kQ8_0, kQ8_0R16, kQ4_K, kQ4_KR16, kQ6_K, kQ6_KR16, kF32, kF16, kBF16, kNF4;

// A whole row dequantized with AVX-512; false for types without a vector path here.
bool dequantize_row(DType type, const void* src, float* dst, int64_t n);

void gemm_accumulate(float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t M, int64_t N,
                     int64_t K, float alpha);
void exp_shifted_inplace(float* x, float shift, int64_t n);
float max_f32(const float* x, int64_t n);
double sum_f32(const float* x, int64_t n);
uint64_t sum_u64(const uint64_t* p, size_t n);
// Handles the first n / 16 * 16 elements; returns how many.
int64_t dropout_apply(float* out, uint8_t* keep, const float* x, const Dropout& d, int64_t n);
int64_t masked_add(float* out, const float* v, const uint8_t* keep, int64_t n);

}  // namespace limarp::kernels::avx512
