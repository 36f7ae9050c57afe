// The AVX2 level (compiled with AVX2, FMA and F16C flags): what x86_family.cc registers, and
// the kernels in files of their own that kernels_avx2.cc's table lists (the 16-row interleaved
// layouts in interleaved.cc, Q6_K in q6_k.cc).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/gemm.h"
#include "kernels/weight_kernels.h"

namespace limarp::kernels {

// This level's weight kernels (kernels_avx2.cc).
const WeightKernel* avx2_kernels(size_t* count);

}  // namespace limarp::kernels

namespace limarp::kernels::avx2 {

extern const WeightKernel kQ4_0R16, kQ8_0R16, kQ4_KR16, kQ6_K;

void gemm_accumulate(float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t M, int64_t N,
                     int64_t K, float alpha);
uint64_t sum_u64(const uint64_t* p, size_t n);
void weighted_row_sum(float* out, const float* w, const void* rows, DType type, int64_t n, int64_t dim);
void store_kv_row(void* dst, DType type, const float* src, int64_t n);
void load_kv_row(float* dst, const void* src, DType type, int64_t n);

}  // namespace limarp::kernels::avx2
