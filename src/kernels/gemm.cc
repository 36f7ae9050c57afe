#include "kernels/gemm.h"

#include <algorithm>

#include "base/status.h"
#include "kernels/cpu/registry.h"

namespace limarp::kernels {

namespace {
// The span of B rows that may be streamed once per register tile: within the L2 of the CPUs
// we target (512 KiB on Zen 3, more on later cores).
constexpr int64_t kStreamedBBytes = int64_t{512} << 10;
// Tasks: blocks of C large enough that one task's work dwarfs the cost of handing it out.
constexpr int64_t kRowsPerTask = 48;
constexpr int64_t kColsPerTask = 256;
constexpr int64_t kMinParallelGemmWork = int64_t{1} << 16;
}  // namespace

bool gemm_streams_b(int64_t K, int64_t ldb) {
  return K * ldb * static_cast<int64_t>(sizeof(float)) <= kStreamedBBytes;
}

void gemm_accumulate_scalar(float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t M,
                            int64_t N, int64_t K, float alpha) {
  for (int64_t k0 = 0; k0 < K; k0 += kGemmKBlock) {
    const int64_t k1 = std::min(K, k0 + kGemmKBlock);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        float acc = 0;
        for (int64_t k = k0; k < k1; ++k) acc += a.data[i * a.row_stride + k * a.col_stride] * b[k * ldb + j];
        c[i * ldc + j] += alpha * acc;
      }
  }
}

void gemm_accumulate_at(Isa isa, float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t M,
                        int64_t N, int64_t K, float alpha) {
  const KernelLevel* level = find_level(isa);
  LIMARP_CHECK(level != nullptr);
  if (M <= 0 || N <= 0 || K <= 0) return;
  level->gemm(c, ldc, a, b, ldb, M, N, K, alpha);
}

void gemm_accumulate(float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t M, int64_t N,
                     int64_t K, float alpha) {
  if (M <= 0 || N <= 0 || K <= 0) return;
  active_level().gemm(c, ldc, a, b, ldb, M, N, K, alpha);
}

namespace {

// Splits C [M, N] into fixed tiles (independent of the thread count) and runs them in parallel.
// A short, wide C (a LoRA factor's gradient: rank rows) gets narrower tiles, so every thread
// has some (the tiling never changes an element's order of additions, only who computes it).
template <typename Tile>
void parallel_tiles(int64_t M, int64_t N, int64_t K, ThreadPool& pool, const Tile& tile) {
  const int64_t row_tiles = (M + kRowsPerTask - 1) / kRowsPerTask;
  const int64_t cols_per_task =
      row_tiles * ((N + kColsPerTask - 1) / kColsPerTask) < 4 * pool.size() ? kColsPerTask / 4 : kColsPerTask;
  const int64_t col_tiles = (N + cols_per_task - 1) / cols_per_task;
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t i0 = (task / col_tiles) * kRowsPerTask, j0 = (task % col_tiles) * cols_per_task;
      tile(i0, std::min(M, i0 + kRowsPerTask), j0, std::min(N, j0 + cols_per_task));
    }
  };
  if (M * N * K < kMinParallelGemmWork) body(0, row_tiles * col_tiles);
  else pool.parallel_for(row_tiles * col_tiles, 1, body);
}

}  // namespace

void matmul_weight_grad(float* dw, const float* dy, const float* x, int64_t T, int64_t n_out, int64_t n_in,
                        float alpha, ThreadPool& pool) {
  // dw = dyᵀ · x: A(i=o, k=t) = dy[t * n_out + o].
  parallel_tiles(n_out, n_in, T, pool, [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    gemm_accumulate(dw + i0 * n_in + j0, n_in, {dy + i0, 1, n_out}, x + j0, n_in, i1 - i0, j1 - j0, T, alpha);
  });
}

void matmul_nn_accumulate(float* y, const float* x, const float* w, int64_t T, int64_t K, int64_t N, float alpha,
                          ThreadPool& pool) {
  parallel_tiles(T, N, K, pool, [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    gemm_accumulate(y + i0 * N + j0, N, {x + i0 * K, K, 1}, w + j0, N, i1 - i0, j1 - j0, K, alpha);
  });
}

}  // namespace limarp::kernels
