// Element-wise and row-wise kernels of the Llama block: RMSNorm, softmax, SwiGLU.
// Pure functions: outputs first, then inputs, then sizes; no allocation, no threads.
#pragma once

#include <cstdint>

namespace limarp::kernels {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i]
void rmsnorm(float* out, const float* x, const float* weight, int64_t n, float eps);

// In place, numerically stable (max subtracted); sums in double.
void softmax(float* x, int64_t n);

// gate[i] = silu(gate[i]) * up[i]
void swiglu(float* gate, const float* up, int64_t n);

// y[i] += x[i]
void add_inplace(float* y, const float* x, int64_t n);

// sum x[i] * y[i] with a fixed summation order (independent of threads and alignment).
float dot_f32(const float* x, const float* y, int64_t n);

// y[i] += a * x[i]
void axpy(float* y, float a, const float* x, int64_t n);

}  // namespace limarp::kernels
