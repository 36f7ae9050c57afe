// Element-wise and row-wise kernels of the Llama block: RMSNorm, softmax, SwiGLU, and the
// backward twin of each differentiable one beside it.
// Pure functions: outputs first, then inputs, then sizes; no allocation, no threads.
//
// The differentiable kernels are templates on the float type, instantiated for float (what
// the model runs) and double (the reference build that tests differentiate by finite
// differences). Gradient contract (as in llm.c): parameter gradients accumulate (+=);
// activation gradients are assigned, except where a kernel feeds the residual stream (the
// RMSNorm input), whose gradient accumulates.
#pragma once

#include <cstdint>

namespace limarp::kernels {

// Elements per pool task when a caller splits an element-wise pass over whole activations (a
// prompt's or a training batch's): a decoded token's few thousand stay on one thread. A
// multiple of 16, so tasks start on whole vectors and even indices (lora.h's dropout_from).
constexpr int64_t kElementGrain = 16384;

// out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i]
template <typename F>
void rmsnorm(F* out, const F* x, const F* weight, int64_t n, float eps);
// dx[i] += d out / d x · dout;  dweight[i] += dout[i] * x[i] * rstd (skipped when dweight is
// null: a frozen norm). rstd is recomputed from x, so the forward saves nothing.
template <typename F>
void rmsnorm_backward(F* dx, F* dweight, const F* dout, const F* x, const F* weight, int64_t n, float eps);

// In place, numerically stable (max subtracted); sums in double.
void softmax(float* x, int64_t n);

// out[i] = silu(gate[i]) * up[i]; out may alias gate (inference overwrites gate).
template <typename F>
void swiglu(F* out, const F* gate, const F* up, int64_t n);
// dgate[i] = dout[i] * up[i] * silu'(gate[i]);  dup[i] = dout[i] * silu(gate[i])  (assigned)
template <typename F>
void swiglu_backward(F* dgate, F* dup, const F* dout, const F* gate, const F* up, int64_t n);

// y[i] += x[i]
void add_inplace(float* y, const float* x, int64_t n);

// sum x[i] * y[i] with a fixed summation order (independent of threads and alignment).
float dot_f32(const float* x, const float* y, int64_t n);

// y[i] += a * x[i]
void axpy(float* y, float a, const float* x, int64_t n);

// Columns [j0, j1) of m [rows, ·] (rows ldm floats apart) into rows of out [·, rows]:
// out[j * rows + i] = alpha * m[i * ldm + j], or += with accumulate. In blocks of 16 columns,
// so each row of m is read a line at a time and the 16 rows of out being written stay cached.
void transpose_columns(float* out, const float* m, int64_t rows, int64_t ldm, int64_t j0, int64_t j1, float alpha,
                       bool accumulate);

}  // namespace limarp::kernels
