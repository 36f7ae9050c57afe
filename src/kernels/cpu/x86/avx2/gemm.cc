// The AVX2 + FMA core of gemm_accumulate (see kernels/gemm.h): register tiles of up to 4 rows ×
// 24 columns (12 accumulators, 3 B vectors and a broadcast fill the 16 registers), the last
// vector of a row masked so any N works without padding. Each element of C receives alpha ·
// (its sum over one block of kGemmKBlock k) per block, in ascending block order — the order of
// the scalar twin and the AVX-512 core — in either loop order of gemm_streams_b (kernels/gemm.h).
// Only intrinsics and local templates here: an inline function from a shared header compiled with these flags could be
// the copy the linker keeps for machines without AVX2.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/x86/avx2/kernels_avx2.h"
#include "kernels/gemm.h"

namespace limarp::kernels::avx2 {
namespace {

constexpr int kMaxRows = 4;
constexpr int kMaxVectors = 3;

template <int MR, int NV>
void micro(float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t K, float alpha,
           __m256i last) {
  __m256 acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    const float* bk = b + k * ldb;
    __m256 bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      bv[v] = v == NV - 1 ? _mm256_maskload_ps(bk + 8 * v, last) : _mm256_loadu_ps(bk + 8 * v);
    const float* ak = a.data + k * a.col_stride;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(ak + r * a.row_stride);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      float* cp = c + r * ldc + 8 * v;
      if (v == NV - 1) _mm256_maskstore_ps(cp, last, _mm256_fmadd_ps(acc[r][v], va, _mm256_maskload_ps(cp, last)));
      else _mm256_storeu_ps(cp, _mm256_fmadd_ps(acc[r][v], va, _mm256_loadu_ps(cp)));
    }
}

// Calls micro<MR, NV> for the tile's rows (1..kMaxRows) and vectors (1..kMaxVectors).
template <int MR>
void micro_rows(int64_t nv, float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t K,
                float alpha, __m256i last) {
  if (nv == 3) micro<MR, 3>(c, ldc, a, b, ldb, K, alpha, last);
  else if (nv == 2) micro<MR, 2>(c, ldc, a, b, ldb, K, alpha, last);
  else micro<MR, 1>(c, ldc, a, b, ldb, K, alpha, last);
}

}  // namespace

void gemm_accumulate(float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t M, int64_t N,
                     int64_t K, float alpha) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  // C[i0.., j0..] += alpha · A[i0.., k0..k0+kb] · B[k0..k0+kb, j0..]: one register tile.
  auto tile = [&](int64_t i0, int64_t j0, int64_t k0) {
    const int64_t kb = K - k0 < kGemmKBlock ? K - k0 : kGemmKBlock;
    const int64_t cols = N - j0 < 8 * kMaxVectors ? N - j0 : 8 * kMaxVectors;
    const int64_t nv = (cols + 7) / 8;
    const auto tail = static_cast<int>(cols - 8 * (nv - 1));
    const __m256i last = _mm256_cmpgt_epi32(_mm256_set1_epi32(tail), lanes);
    const StridedMatrix ai{a.data + i0 * a.row_stride + k0 * a.col_stride, a.row_stride, a.col_stride};
    float* ci = c + i0 * ldc + j0;
    const float* bk = b + k0 * ldb + j0;
    switch (M - i0 < kMaxRows ? M - i0 : kMaxRows) {
      case 4: micro_rows<4>(nv, ci, ldc, ai, bk, ldb, kb, alpha, last); break;
      case 3: micro_rows<3>(nv, ci, ldc, ai, bk, ldb, kb, alpha, last); break;
      case 2: micro_rows<2>(nv, ci, ldc, ai, bk, ldb, kb, alpha, last); break;
      default: micro_rows<1>(nv, ci, ldc, ai, bk, ldb, kb, alpha, last); break;
    }
  };
  gemm_visit_tiles(M, N, K, ldb, kMaxRows, 8 * kMaxVectors, tile);
}

}  // namespace limarp::kernels::avx2
