// The NEON core of gemm_accumulate (see kernels/gemm.h): register tiles of up to 4 rows × 16
// columns (16 accumulators of 4 floats, half of the 32 vector registers, leaving room for the
// row of B and the broadcasts), then 4-column and single-column tails. Each element of C
// receives alpha · (its sum over one block of kGemmKBlock k) per block, in ascending block
// order, as the scalar twin does, in either loop order of gemm_streams_b (kernels/gemm.h).
#include <arm_neon.h>

#include <algorithm>

#include "kernels/cpu/arm/kernels_arm.h"
#include "kernels/gemm.h"

namespace limarp::kernels::arm {
namespace {

// C[R rows, 4V columns] += alpha · A[R, K] · B[K, 4V].
template <int R, int V>
void micro(float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t K, float alpha) {
  float32x4_t acc[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc[r][v] = vdupq_n_f32(0);
  for (int64_t k = 0; k < K; ++k) {
    float32x4_t bv[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) bv[v] = vld1q_f32(b + k * ldb + 4 * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const float32x4_t av = vdupq_n_f32(a.data[r * a.row_stride + k * a.col_stride]);
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) acc[r][v] = vfmaq_f32(acc[r][v], av, bv[v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      float* cp = c + r * ldc + 4 * v;
      vst1q_f32(cp, vaddq_f32(vld1q_f32(cp), vmulq_n_f32(acc[r][v], alpha)));
    }
}

// R rows of C across all N columns.
template <int R>
void rows(float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t N, int64_t K, float alpha) {
  int64_t j = 0;
  for (; j + 16 <= N; j += 16) micro<R, 4>(c + j, ldc, a, b + j, ldb, K, alpha);
  for (; j + 4 <= N; j += 4) micro<R, 1>(c + j, ldc, a, b + j, ldb, K, alpha);
  for (; j < N; ++j)
    for (int r = 0; r < R; ++r) {
      float acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += a.data[r * a.row_stride + k * a.col_stride] * b[k * ldb + j];
      c[r * ldc + j] += alpha * acc;
    }
}

}  // namespace

void gemm_accumulate(float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t M, int64_t N,
                     int64_t K, float alpha) {
  // Rows [i, i + 4) of C += alpha · A[i.., k0..k0+kb] · B[k0..k0+kb, all columns].
  auto row_block = [&](int64_t i, int64_t, int64_t k0) {
    const int64_t kb = std::min(kGemmKBlock, K - k0);
    const float* bk = b + k0 * ldb;
    const StridedMatrix ai{a.data + i * a.row_stride + k0 * a.col_stride, a.row_stride, a.col_stride};
    float* ci = c + i * ldc;
    switch (std::min<int64_t>(4, M - i)) {
      case 4: rows<4>(ci, ldc, ai, bk, ldb, N, kb, alpha); break;
      case 3: rows<3>(ci, ldc, ai, bk, ldb, N, kb, alpha); break;
      case 2: rows<2>(ci, ldc, ai, bk, ldb, N, kb, alpha); break;
      default: rows<1>(ci, ldc, ai, bk, ldb, N, kb, alpha); break;
    }
  };
  gemm_visit_tiles(M, N, K, ldb, 4, N, row_block);
}

}  // namespace limarp::kernels::arm
