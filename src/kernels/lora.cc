#include "kernels/lora.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/registry.h"
#include "kernels/gemm.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace limarp::kernels {
namespace {

// The element-wise passes over a batch's [T, in] or [T, out] values go to the pool: done on
// the calling thread they kept the other cores waiting for a few per cent of a training step
// (`limarp train --benchmark`).
void zero(float* x, int64_t n, ThreadPool& pool) {
  pool.parallel_for(n, kElementGrain, [&](int64_t b, int64_t e) {
    std::memset(x + b, 0, sizeof(float) * static_cast<size_t>(e - b));
  });
}

}  // namespace

void dropout_apply_scalar(float* out, uint8_t* keep, const float* x, const Dropout& d, int64_t n) {
  const float keep_scale = 1.0f / (1.0f - d.p);
  for (int64_t e = 0; e < n; ++e) {
    const bool k = dropout_keeps(d, static_cast<uint64_t>(e));
    out[e] = k ? x[e] * keep_scale : 0.0f;
    if (keep) keep[e] = k;
  }
}

void dropout_apply(float* out, uint8_t* keep, const float* x, const Dropout& d, int64_t n) {
  int64_t done = 0;
  if (const auto prefix = active_level().dropout_prefix) done = prefix(out, keep, x, d, n);
  // The tail (fewer than 16 elements) by the scalar loop, at its own element indices.
  const float keep_scale = 1.0f / (1.0f - d.p);
  for (int64_t e = done; e < n; ++e) {
    const bool k = dropout_keeps(d, static_cast<uint64_t>(e));
    out[e] = k ? x[e] * keep_scale : 0.0f;
    if (keep) keep[e] = k;
  }
}

void masked_add(float* out, const float* v, const uint8_t* keep, int64_t n) {
  int64_t done = 0;
  if (const auto prefix = active_level().masked_add_prefix) done = prefix(out, v, keep, n);
  masked_add_scalar(out + done, v + done, keep + done, n - done);
}

void masked_add_scalar(float* out, const float* v, const uint8_t* keep, int64_t n) {
  for (int64_t e = 0; e < n; ++e)
    if (keep[e]) out[e] += v[e];
}

void dropout_apply(float* out, uint8_t* keep, const float* x, const Dropout& d, int64_t n, ThreadPool& pool) {
  pool.parallel_for(n, kElementGrain, [&](int64_t b, int64_t e) {
    dropout_apply(out + b, keep ? keep + b : nullptr, x + b, dropout_from(d, static_cast<uint64_t>(b)), e - b);
  });
}

namespace {

// Transposes m [rows, cols] into out [cols, rows]: the factors are small (rank × width), and
// in this orientation every product of the branch is a gemm with a wide right-hand side.
void transpose(float* out, const float* m, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out[j * rows + i] = m[i * cols + j];
}

// Rows of tokens per task of the fused passes below.
constexpr int64_t kTokenRows = 24;
// Columns at a time within a task: the tile of products stays in the first-level cache.
constexpr int64_t kColumnTile = 256;

}  // namespace

void lora_forward(float* y, float* ax, const float* x, const LoraFactors& f, const Dropout& d, int64_t T,
                  const LoraScratch& s, ThreadPool& pool) {
  const float* xin = x;
  if (d.p > 0) {
    dropout_apply(s.xd, nullptr, x, d, T * f.n_in, pool);
    xin = s.xd;
  }
  // Aᵀ [in, r] and Bᵀ [r, out] in the caller's arena (the pool's tasks use other slots).
  float* at = pool.arena(0).floats(ScratchSlot::kLoraFactors, static_cast<size_t>(f.rank * (f.n_in + f.n_out)));
  float* bt = at + f.rank * f.n_in;
  transpose(at, f.a, f.rank, f.n_in);
  transpose(bt, f.b, f.n_out, f.rank);
  zero(ax, T * f.rank, pool);
  matmul_nn_accumulate(ax, xin, at, T, f.n_in, f.rank, 1.0f, pool);     // ax = drop(x) · Aᵀ   [T, r]
  matmul_nn_accumulate(y, ax, bt, T, f.rank, f.n_out, f.scale, pool);   // y += scale · ax · Bᵀ
}

void lora_backward(float* dx, float* da, float* db, const float* dy, const float* x, const float* ax,
                   const LoraFactors& f, const Dropout& d, int64_t T, const LoraScratch& s, ThreadPool& pool) {
  const int64_t r = f.rank, n_in = f.n_in, n_out = f.n_out;
  // Forward: y += scale · ax · Bᵀ. dbᵀ [r, out] = scale · axᵀ · dy has the wide side on the right
  // (the gemm's fast orientation); it is summed in a scratch block and added to db.
  float* dbt = pool.arena(0).floats(ScratchSlot::kLoraFactors, static_cast<size_t>(r * n_out));
  zero(dbt, r * n_out, pool);
  matmul_weight_grad(dbt, ax, dy, T, r, n_out, f.scale, pool);
  for (int64_t o = 0; o < n_out; ++o)
    for (int64_t j = 0; j < r; ++j) db[o * r + j] += dbt[j * n_out + o];
  zero(s.dax, T * r, pool);
  matmul_nn_accumulate(s.dax, dy, f.b, T, n_out, r, f.scale, pool);  // dax = scale · dy · B
  // Forward: ax = drop(x) · Aᵀ.
  const float* xin = x;
  if (d.p > 0) {
    dropout_apply(s.xd, s.keep, x, d, T * n_in, pool);
    xin = s.xd;
  }
  matmul_weight_grad(da, s.dax, xin, T, r, n_in, 1.0f, pool);  // da += daxᵀ · drop(x)
  if (!dx) return;
  if (d.p == 0) {
    matmul_nn_accumulate(dx, s.dax, f.a, T, r, n_in, 1.0f, pool);  // dx += dax · A
    return;
  }
  // dx += drop'(dax · A): the same mask and scale as the forward. Each task forms a small tile
  // of dax · A in its own arena and adds its kept elements, one pass over dx.
  const float keep_scale = 1.0f / (1.0f - d.p);
  pool.parallel_for_indexed(T, kTokenRows, [&](int64_t t0, int64_t t1, int thread) {
    const int64_t rows = t1 - t0;
    float* tile = pool.arena(thread).floats(ScratchSlot::kLoraTile, static_cast<size_t>(kTokenRows * kColumnTile));
    for (int64_t c0 = 0; c0 < n_in; c0 += kColumnTile) {
      const int64_t cols = std::min(kColumnTile, n_in - c0);
      std::memset(tile, 0, sizeof(float) * static_cast<size_t>(rows * cols));
      gemm_accumulate(tile, cols, {s.dax + t0 * r, r, 1}, f.a + c0, n_in, rows, cols, r, keep_scale);
      for (int64_t t = 0; t < rows; ++t)
        masked_add(dx + (t0 + t) * n_in + c0, tile + t * cols, s.keep + (t0 + t) * n_in + c0, cols);
    }
  });
}

}  // namespace limarp::kernels
