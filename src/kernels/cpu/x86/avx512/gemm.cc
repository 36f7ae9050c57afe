// The AVX-512 core of gemm_accumulate (see kernels/gemm.h): register tiles of up to 6 rows ×
// 64 columns (24 accumulators), the last vector of a row masked so any N works without
// padding. Each element of C receives alpha · (its sum over one block of kGemmKBlock k) per
// block, in ascending block order — the same order as the scalar twin — in either of the two
// loop orders of gemm_streams_b (kernels/gemm.h).
#include <algorithm>

#include "kernels/cpu/x86/avx512/kernels_avx512.h"
#include "kernels/cpu/x86/avx512/simd_util.h"
#include "kernels/gemm.h"

namespace limarp::kernels::avx512 {
namespace {

constexpr int kMaxRows = 6;
constexpr int kMaxVectors = 4;

template <int MR, int NV>
void micro(float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t K, float alpha,
           __mmask16 last) {
  __m512 acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    const float* bk = b + k * ldb;
    __m512 bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(last, bk + 16 * v) : _mm512_loadu_ps(bk + 16 * v);
    const float* ak = a.data + k * a.col_stride;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(ak[r * a.row_stride]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      float* cp = c + r * ldc + 16 * v;
      const __mmask16 m = v == NV - 1 ? last : static_cast<__mmask16>(0xFFFF);
      const __m512 cv = _mm512_maskz_loadu_ps(m, cp);
      _mm512_mask_storeu_ps(cp, m, _mm512_fmadd_ps(acc[r][v], va, cv));
    }
}

}  // namespace

void gemm_accumulate(float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t M, int64_t N,
                     int64_t K, float alpha) {
  // C[i0.., j0..] += alpha · A[i0.., k0..k0+kb] · B[k0..k0+kb, j0..]: one register tile.
  auto tile = [&](int64_t i0, int64_t j0, int64_t k0) {
    const int64_t kb = std::min(kGemmKBlock, K - k0);
    const int64_t rows = std::min<int64_t>(kMaxRows, M - i0), cols = std::min<int64_t>(16 * kMaxVectors, N - j0);
    const int64_t nv = (cols + 15) / 16;
    const int64_t tail = cols - 16 * (nv - 1);
    const auto last = static_cast<__mmask16>(tail == 16 ? 0xFFFF : (1u << tail) - 1);
    const StridedMatrix ai{a.data + i0 * a.row_stride + k0 * a.col_stride, a.row_stride, a.col_stride};
    float* ci = c + i0 * ldc + j0;
    const float* bk = b + k0 * ldb + j0;
    dispatch_tokens<kMaxRows>(rows, [&]<int MR>() {
      dispatch_tokens<kMaxVectors>(nv, [&]<int NV>() { micro<MR, NV>(ci, ldc, ai, bk, ldb, kb, alpha, last); });
    });
  };
  gemm_visit_tiles(M, N, K, ldb, kMaxRows, 16 * kMaxVectors, tile);
}

}  // namespace limarp::kernels::avx512
