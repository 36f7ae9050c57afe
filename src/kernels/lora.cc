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

// out [cols, rows] = alpha · mᵀ (or += with accumulate), m [rows, cols]. The factors turned
// this way make every product of the branch a wide one; at rank 256 these passes are millions
// of elements, so they split over the pool, 16 columns of m per task.
void transpose_into(float* out, const float* m, int64_t rows, int64_t cols, float alpha, bool accumulate,
                    ThreadPool& pool) {
  pool.parallel_for(cols, 16, [&](int64_t j0, int64_t j1) {
    transpose_columns(out, m, rows, cols, j0, j1, alpha, accumulate);
  });
}

// From this many tokens on, the engine's products pay for packing the factors.
constexpr int64_t kMinEngineTokens = 32;

TensorView f32_view(const float* data, int64_t rows, int64_t cols) {
  return TensorView{DType::kF32, {rows, cols}, data, static_cast<uint64_t>(rows * cols) * sizeof(float)};
}

// The matrix engine for this branch's factor products, or null (f32 gemms then).
const MatrixEngine* engine_for(const LoraFactors& f, int64_t T, ProductPrecision precision) {
  if (precision != ProductPrecision::kBF16 || T < kMinEngineTokens) return nullptr;
  const MatrixEngine* e = active_level().matrix_engine;
  if (!e || f.rank % e->k_step != 0 || f.n_in % e->k_step != 0 || f.n_out % e->k_step != 0 || f.rank < e->min_rows)
    return nullptr;
  return e->available() ? e : nullptr;
}

// out = alpha · m, element-wise (the engine's products take no scale: it goes into a factor).
void scaled_copy(float* out, const float* m, int64_t n, float alpha, ThreadPool& pool) {
  pool.parallel_for(n, kElementGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = alpha * m[i];
  });
}

// Rows of tokens per task of the fused passes below.
constexpr int64_t kTokenRows = 24;
// Columns at a time within a task: the tile of products stays in the first-level cache.
constexpr int64_t kColumnTile = 256;

}  // namespace

void lora_forward(float* y, float* ax, const float* x, const LoraFactors& f, const Dropout& d, int64_t T,
                  const LoraScratch& s, ThreadPool& pool, ProductPrecision precision) {
  const float* xin = x;
  if (d.p > 0) {
    dropout_apply(s.xd, nullptr, x, d, T * f.n_in, pool);
    xin = s.xd;
  }
  // Aᵀ [in, r] and Bᵀ [r, out] in the caller's arena (the pool's tasks use other slots).
  float* at = pool.arena(0).floats(ScratchSlot::kLoraFactors, static_cast<size_t>(f.rank * (f.n_in + f.n_out)));
  float* bt = at + f.rank * f.n_in;
  if (const MatrixEngine* e = engine_for(f, T, precision)) {
    e->run(ax, f.rank, xin, T, f32_view(f.a, f.rank, f.n_in), pool);  // ax = drop(x) · Aᵀ
    // y += ax · (scale · Bᵀ): the engine's transposed product, with the scale in the factor.
    transpose_into(bt, f.b, f.n_out, f.rank, f.scale, false, pool);
    e->run_transposed(y, f.n_out, ax, T, f32_view(bt, f.rank, f.n_out), pool);
    return;
  }
  transpose_into(bt, f.b, f.n_out, f.rank, 1.0f, false, pool);
  transpose_into(at, f.a, f.rank, f.n_in, 1.0f, false, pool);
  zero(ax, T * f.rank, pool);
  matmul_nn_accumulate(ax, xin, at, T, f.n_in, f.rank, 1.0f, pool);     // ax = drop(x) · Aᵀ   [T, r]
  matmul_nn_accumulate(y, ax, bt, T, f.rank, f.n_out, f.scale, pool);   // y += scale · ax · Bᵀ
}

namespace {

// factor_grads: db += scale · dyᵀ · ax and da += daxᵀ · drop(x) as f32 gemms (both operands
// are activations), shared by both paths; xin is drop(x) (or x).
void factor_grads(float* da, float* db, const float* dy, const float* xin, const float* ax, const float* dax,
                  const LoraFactors& f, int64_t T, ThreadPool& pool) {
  // dbᵀ [r, out] = scale · axᵀ · dy has the wide side on the right (the gemm's fast
  // orientation); it is summed in a scratch block and added to db.
  const int64_t r = f.rank, n_out = f.n_out;
  float* dbt = pool.arena(0).floats(ScratchSlot::kLoraFactorGrad, static_cast<size_t>(r * n_out));
  zero(dbt, r * n_out, pool);
  matmul_weight_grad(dbt, ax, dy, T, r, n_out, f.scale, pool);
  transpose_into(db, dbt, r, n_out, 1.0f, true, pool);
  matmul_weight_grad(da, dax, xin, T, r, f.n_in, 1.0f, pool);
}

// The same two gradients on a matrix engine. Each is the engine's transposed product with an
// activation in the weight's place: dbᵀ [r, out] += axᵀ · dy and da [r, in] += daxᵀ · drop(x),
// summing over tokens, which are the weight's rows ([T, width] as stored, no transpose);
// only the [T, r] factor sides are transposed. The engine takes whole k-steps of tokens; the
// last few go through the f32 gemm.
void factor_grads_on_engine(const MatrixEngine& e, float* da, float* db, const float* dy, const float* xin,
                            const float* ax, const float* dax, const LoraFactors& f, int64_t T, ThreadPool& pool) {
  const int64_t r = f.rank, n_in = f.n_in, n_out = f.n_out;
  const int64_t te = T / e.k_step * e.k_step, tail = T - te;
  float* dbt = pool.arena(0).floats(ScratchSlot::kLoraFactorGrad, static_cast<size_t>(r * n_out));
  float* side = pool.arena(0).floats(ScratchSlot::kLoraTransposed, static_cast<size_t>(r * te));
  zero(dbt, r * n_out, pool);
  transpose_into(side, ax, te, r, 1.0f, false, pool);
  e.run_transposed(dbt, n_out, side, r, f32_view(dy, te, n_out), pool);
  if (tail > 0) matmul_weight_grad(dbt, ax + te * r, dy + te * n_out, tail, r, n_out, 1.0f, pool);
  transpose_into(db, dbt, r, n_out, f.scale, true, pool);
  transpose_into(side, dax, te, r, 1.0f, false, pool);
  e.run_transposed(da, n_in, side, r, f32_view(xin, te, n_in), pool);
  if (tail > 0) matmul_weight_grad(da, dax + te * r, xin + te * n_in, tail, r, n_in, 1.0f, pool);
}

// The backward with the factor products on a matrix engine (bf16 operands, f32 sums).
void lora_backward_on_engine(const MatrixEngine& e, float* dx, float* da, float* db, const float* dy, const float* x,
                             const float* ax, const LoraFactors& f, const Dropout& d, int64_t T, const LoraScratch& s,
                             ThreadPool& pool) {
  const int64_t r = f.rank, n_in = f.n_in, n_out = f.n_out;
  const float keep_scale = d.p > 0 ? 1.0f / (1.0f - d.p) : 1.0f;
  // scale · B [out, r] and keep_scale · A [r, in]: the engine's products take no scale.
  float* sb = pool.arena(0).floats(ScratchSlot::kLoraFactors, static_cast<size_t>(r * (n_out + n_in)));
  float* sa = sb + r * n_out;
  scaled_copy(sb, f.b, n_out * r, f.scale, pool);
  scaled_copy(sa, f.a, r * n_in, keep_scale, pool);
  zero(s.dax, T * r, pool);
  e.run_transposed(s.dax, r, dy, T, f32_view(sb, n_out, r), pool);  // dax = scale · dy · B
  const float* xin = x;
  if (d.p > 0) {
    dropout_apply(s.xd, s.keep, x, d, T * n_in, pool);
    xin = s.xd;
  }
  factor_grads_on_engine(e, da, db, dy, xin, ax, s.dax, f, T, pool);
  if (!dx) return;
  if (d.p == 0) {
    e.run_transposed(dx, n_in, s.dax, T, f32_view(sa, r, n_in), pool);  // dx += dax · A
    return;
  }
  // dx += drop'(dax · A): formed in xd (no longer needed), then its kept elements added.
  zero(s.xd, T * n_in, pool);
  e.run_transposed(s.xd, n_in, s.dax, T, f32_view(sa, r, n_in), pool);
  pool.parallel_for(T * n_in, kElementGrain, [&](int64_t b, int64_t end) {
    masked_add(dx + b, s.xd + b, s.keep + b, end - b);
  });
}

}  // namespace

void lora_backward(float* dx, float* da, float* db, const float* dy, const float* x, const float* ax,
                   const LoraFactors& f, const Dropout& d, int64_t T, const LoraScratch& s, ThreadPool& pool,
                   ProductPrecision precision) {
  const int64_t r = f.rank, n_in = f.n_in, n_out = f.n_out;
  if (const MatrixEngine* e = engine_for(f, T, precision)) {
    lora_backward_on_engine(*e, dx, da, db, dy, x, ax, f, d, T, s, pool);
    return;
  }
  // Forward: y += scale · ax · Bᵀ, ax = drop(x) · Aᵀ.
  zero(s.dax, T * r, pool);
  matmul_nn_accumulate(s.dax, dy, f.b, T, n_out, r, f.scale, pool);  // dax = scale · dy · B
  const float* xin = x;
  if (d.p > 0) {
    dropout_apply(s.xd, s.keep, x, d, T * n_in, pool);
    xin = s.xd;
  }
  factor_grads(da, db, dy, xin, ax, s.dax, f, T, pool);
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
