#include "kernels/lora.h"

#include <cstring>

#include "kernels/cpu/registry.h"
#include "kernels/gemm.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace limarp::kernels {
namespace {

TensorView f32_view(const float* data, int64_t rows, int64_t cols) {
  return TensorView{DType::kF32, {rows, cols}, data, static_cast<uint64_t>(rows * cols) * sizeof(float)};
}

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

void dropout_apply(float* out, uint8_t* keep, const float* x, const Dropout& d, int64_t n, ThreadPool& pool) {
  pool.parallel_for(n, kElementGrain, [&](int64_t b, int64_t e) {
    dropout_apply(out + b, keep ? keep + b : nullptr, x + b, dropout_from(d, static_cast<uint64_t>(b)), e - b);
  });
}

void lora_forward(float* y, float* ax, const float* x, const LoraFactors& f, const Dropout& d, int64_t T,
                  const LoraScratch& s, ThreadPool& pool) {
  const float* xin = x;
  if (d.p > 0) {
    dropout_apply(s.xd, nullptr, x, d, T * f.n_in, pool);
    xin = s.xd;
  }
  matmul(ax, xin, f32_view(f.a, f.rank, f.n_in), T, pool);           // [T, r]
  matmul(s.ybuf, ax, f32_view(f.b, f.n_out, f.rank), T, pool);       // [T, out]
  pool.parallel_for(T * f.n_out, kElementGrain, [&](int64_t b, int64_t e) { axpy(y + b, f.scale, s.ybuf + b, e - b); });
}

void lora_backward(float* dx, float* da, float* db, const float* dy, const float* x, const float* ax,
                   const LoraFactors& f, const Dropout& d, int64_t T, const LoraScratch& s, ThreadPool& pool) {
  // Forward: ybuf = ax · Bᵀ, y += scale · ybuf.
  matmul_weight_grad(db, dy, ax, T, f.n_out, f.rank, f.scale, pool);  // db += scale · dyᵀ · ax
  zero(s.dax, T * f.rank, pool);
  matmul_nn_accumulate(s.dax, dy, f.b, T, f.n_out, f.rank, f.scale, pool);  // dax = scale · dy · B
  // Forward: ax = drop(x) · Aᵀ.
  const float* xin = x;
  if (d.p > 0) {
    dropout_apply(s.xd, s.keep, x, d, T * f.n_in, pool);
    xin = s.xd;
  }
  matmul_weight_grad(da, s.dax, xin, T, f.rank, f.n_in, 1.0f, pool);  // da += daxᵀ · drop(x)
  if (!dx) return;
  if (d.p == 0) {
    matmul_nn_accumulate(dx, s.dax, f.a, T, f.rank, f.n_in, 1.0f, pool);  // dx += dax · A
    return;
  }
  // dx += drop'(dax · A): the same mask and scale as the forward, through xd as a buffer.
  zero(s.xd, T * f.n_in, pool);
  matmul_nn_accumulate(s.xd, s.dax, f.a, T, f.rank, f.n_in, 1.0f, pool);
  const float keep_scale = 1.0f / (1.0f - d.p);
  pool.parallel_for(T * f.n_in, kElementGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      if (s.keep[i]) dx[i] += s.xd[i] * keep_scale;
  });
}

}  // namespace limarp::kernels
