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

void lora_forward(float* y, float* ax, const float* x, const LoraFactors& f, const Dropout& d, int64_t T,
                  const LoraScratch& s, ThreadPool& pool) {
  const float* xin = x;
  if (d.p > 0) {
    dropout_apply(s.xd, nullptr, x, d, T * f.n_in);
    xin = s.xd;
  }
  matmul(ax, xin, f32_view(f.a, f.rank, f.n_in), T, pool);           // [T, r]
  matmul(s.ybuf, ax, f32_view(f.b, f.n_out, f.rank), T, pool);       // [T, out]
  axpy(y, f.scale, s.ybuf, T * f.n_out);
}

void lora_backward(float* dx, float* da, float* db, const float* dy, const float* x, const float* ax,
                   const LoraFactors& f, const Dropout& d, int64_t T, const LoraScratch& s, ThreadPool& pool) {
  // Forward: ybuf = ax · Bᵀ, y += scale · ybuf.
  matmul_weight_grad(db, dy, ax, T, f.n_out, f.rank, f.scale, pool);  // db += scale · dyᵀ · ax
  std::memset(s.dax, 0, sizeof(float) * static_cast<size_t>(T * f.rank));
  matmul_nn_accumulate(s.dax, dy, f.b, T, f.n_out, f.rank, f.scale, pool);  // dax = scale · dy · B
  // Forward: ax = drop(x) · Aᵀ.
  const float* xin = x;
  if (d.p > 0) {
    dropout_apply(s.xd, s.keep, x, d, T * f.n_in);
    xin = s.xd;
  }
  matmul_weight_grad(da, s.dax, xin, T, f.rank, f.n_in, 1.0f, pool);  // da += daxᵀ · drop(x)
  if (!dx) return;
  if (d.p == 0) {
    matmul_nn_accumulate(dx, s.dax, f.a, T, f.rank, f.n_in, 1.0f, pool);  // dx += dax · A
    return;
  }
  // dx += drop'(dax · A): the same mask and scale as the forward, through xd as a buffer.
  std::memset(s.xd, 0, sizeof(float) * static_cast<size_t>(T * f.n_in));
  matmul_nn_accumulate(s.xd, s.dax, f.a, T, f.rank, f.n_in, 1.0f, pool);
  const float keep_scale = 1.0f / (1.0f - d.p);
  for (int64_t e = 0; e < T * f.n_in; ++e)
    if (s.keep[e]) dx[e] += s.xd[e] * keep_scale;
}

}  // namespace limarp::kernels
