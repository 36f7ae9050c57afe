// Dense f32 matrix products for training, where both operands are activations or f32
// parameters: gradients of weights (dW += dYᵀ·X) and products with row-major right-hand
// sides (dX += dY·W). The forward products against stored weights of any type stay in
// matmul.h; these are the other two orientations backward passes need.
//
// One blocked core, C[M, N] += alpha · op(A)[M, K] · B[K, N], reads A through two strides so
// the same code serves A and Aᵀ. Every element of C is summed over k in one fixed order
// (blocks of kGemmKBlock, ascending), so results do not depend on the thread count or on how the
// callers split M and N across threads. The core of the active level (cpu/registry.h: AVX-512,
// AVX2, NEON) is chosen at start-up; the scalar build is their twin (same blocking, same order
// of additions per element).
//
//   gemm_accumulate(c, ldc, a, lda_row, lda_col, b, ldb, M, N, K, 1.0f);
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "kernels/cpu/cpu_features.h"

namespace limarp::kernels {

// Every core sums each element of C over blocks of this many k, ascending (the twins agree).
inline constexpr int64_t kGemmKBlock = 256;

// The SIMD cores visit their register tiles in one of two orders, which give the same sums.
// When the rows of B that a strip of columns spans fit in a core's L2 (a packed weight panel),
// each tile runs all its K blocks in a row: A's rows are read once, front to back, and the
// tile of C is loaded and stored while still in L1. Otherwise (B rows far apart, as in a
// weight gradient over many tokens) the K blocks are the outer loop, so each block of B stays
// in cache while every row of A passes over it (kernels_bench training_product/*, gemm/*).
// Out of line: the SIMD cores' files are built with flags the generic code must not inherit.
bool gemm_streams_b(int64_t K, int64_t ldb);

// Calls tile(i0, j0, k0) for every register tile of `rows` × `cols` and every K block, in the
// order gemm_streams_b picks. Each core passes a lambda of its own file, so the instantiation
// is that file's alone and is compiled with its flags.
template <class Tile>
void gemm_visit_tiles(int64_t M, int64_t N, int64_t K, int64_t ldb, int64_t rows, int64_t cols, Tile&& tile) {
  if (gemm_streams_b(K, ldb)) {
    for (int64_t j0 = 0; j0 < N; j0 += cols)
      for (int64_t i0 = 0; i0 < M; i0 += rows)
        for (int64_t k0 = 0; k0 < K; k0 += kGemmKBlock) tile(i0, j0, k0);
    return;
  }
  for (int64_t k0 = 0; k0 < K; k0 += kGemmKBlock)
    for (int64_t j0 = 0; j0 < N; j0 += cols)
      for (int64_t i0 = 0; i0 < M; i0 += rows) tile(i0, j0, k0);
}

// A strided view of the left operand: element (i, k) is data[i * row_stride + k * col_stride].
struct StridedMatrix {
  const float* data;
  int64_t row_stride;
  int64_t col_stride;
};

// C[i, j] += alpha * sum_k A(i, k) * B[k * ldb + j]  for i < M, j < N. Single-threaded, pure.
void gemm_accumulate(float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t M, int64_t N,
                     int64_t K, float alpha);
// The core at a given level, which must be runnable here (find_level; tests compare each level).
void gemm_accumulate_at(Isa isa, float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t M,
                        int64_t N, int64_t K, float alpha);
// The portable twin (tests compare the two).
void gemm_accumulate_scalar(float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t M,
                            int64_t N, int64_t K, float alpha);

// Weight gradient: dw[o, i] += alpha * sum_t dy[t, o] * x[t, i]
//   dw [n_out, n_in], dy [T, n_out], x [T, n_in]. Parallel over blocks of dw.
void matmul_weight_grad(float* dw, const float* dy, const float* x, int64_t T, int64_t n_out, int64_t n_in,
                        float alpha, ThreadPool& pool);

// Product with a row-major f32 matrix: y[t, j] += alpha * sum_k x[t, k] * w[k, j]
//   y [T, N], x [T, K], w [K, N]. Parallel over blocks of y.
void matmul_nn_accumulate(float* y, const float* x, const float* w, int64_t T, int64_t K, int64_t N, float alpha,
                          ThreadPool& pool);

}  // namespace limarp::kernels
