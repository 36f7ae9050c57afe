#include "kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/vector_math.h"

namespace limarp::kernels {

float dot_f32(const float* x, const float* y, int64_t n) {
  // 16 independent partial sums: vectorisable without reassociation, and a fixed order.
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += x[i + j] * y[i + j];
  float tail = 0;
  for (; i < n; ++i) tail += x[i] * y[i];
  for (int j = 0; j < 8; ++j) acc[j] += acc[j + 8];
  for (int j = 0; j < 4; ++j) acc[j] += acc[j + 4];
  return (acc[0] + acc[2]) + (acc[1] + acc[3]) + tail;
}

namespace {
// 1 / sqrt(mean(x^2) + eps), the sum in double whatever F is.
template <typename F>
F rms_scale(const F* x, int64_t n, float eps) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  return static_cast<F>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
}
}  // namespace

template <typename F>
void rmsnorm(F* out, const F* x, const F* weight, int64_t n, float eps) {
  const F scale = rms_scale(x, n, eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

template <typename F>
void rmsnorm_backward(F* dx, F* dweight, const F* dout, const F* x, const F* weight, int64_t n, float eps) {
  // out = x * r * w with r = (mean(x^2) + eps)^(-1/2); dr/dx_j = -r^3 x_j / n, so
  // dx_j = r w_j dout_j - x_j r^3 / n * sum_i dout_i w_i x_i.
  const F r = rms_scale(x, n, eps);
  double dot = 0;
  for (int64_t i = 0; i < n; ++i) dot += static_cast<double>(dout[i]) * weight[i] * x[i];
  const F c = static_cast<F>(dot * static_cast<double>(r) * r * r / static_cast<double>(n));
  for (int64_t i = 0; i < n; ++i) dx[i] += r * weight[i] * dout[i] - x[i] * c;
  if (dweight)
    for (int64_t i = 0; i < n; ++i) dweight[i] += dout[i] * x[i] * r;
}

void softmax(float* x, int64_t n) {
  float mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = std::max(mx, x[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

namespace {

// Elements per stack chunk for the vectorised exp.
constexpr int64_t kExpChunk = 256;

// Calls fn(i, e^-gate[i]) for i < n. In float e^-g comes from the vectorised exp
// (vector_math.h) a stack chunk at a time: with std::exp per element the SwiGLU of a training
// step's activations was a few per cent of the step (`limarp train --benchmark`).
template <typename F, typename Fn>
void with_exp_of_minus(const F* gate, int64_t n, Fn fn) {
  if constexpr (std::is_same_v<F, float>) {
    float e[kExpChunk];
    for (int64_t i0 = 0; i0 < n; i0 += kExpChunk) {
      const int64_t m = std::min(kExpChunk, n - i0);
      for (int64_t j = 0; j < m; ++j) e[j] = -gate[i0 + j];
      exp_shifted_inplace(e, 0.0f, m);
      for (int64_t j = 0; j < m; ++j) fn(i0 + j, e[j]);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) fn(i, std::exp(-gate[i]));
  }
}

}  // namespace

// silu(g) = g s(g) with s the logistic function 1 / (1 + e^-g). out may be gate or up: each
// element is read before it is written.
template <typename F>
void swiglu(F* out, const F* gate, const F* up, int64_t n) {
  with_exp_of_minus(gate, n, [&](int64_t i, F e) { out[i] = gate[i] / (F(1) + e) * up[i]; });
}

// silu'(g) = s(g) (1 + g (1 - s(g))).
template <typename F>
void swiglu_backward(F* dgate, F* dup, const F* dout, const F* gate, const F* up, int64_t n) {
  with_exp_of_minus(gate, n, [&](int64_t i, F e) {
    const F s = F(1) / (F(1) + e), g = gate[i], d = dout[i];
    dup[i] = d * g * s;
    dgate[i] = d * up[i] * s * (F(1) + g * (F(1) - s));
  });
}

void add_inplace(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void axpy(float* y, float a, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void transpose_columns(float* out, const float* m, int64_t rows, int64_t ldm, int64_t j0, int64_t j1, float alpha,
                       bool accumulate) {
  for (int64_t b0 = j0; b0 < j1; b0 += 16) {
    const int64_t b1 = std::min(j1, b0 + 16);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = b0; j < b1; ++j) {
        const float v = alpha * m[i * ldm + j];
        out[j * rows + i] = accumulate ? out[j * rows + i] + v : v;
      }
  }
}

#define LIMARP_INSTANTIATE(F)                                                                           \
  template void rmsnorm<F>(F*, const F*, const F*, int64_t, float);                                     \
  template void rmsnorm_backward<F>(F*, F*, const F*, const F*, const F*, int64_t, float);              \
  template void swiglu<F>(F*, const F*, const F*, int64_t);                                             \
  template void swiglu_backward<F>(F*, F*, const F*, const F*, const F*, int64_t);
LIMARP_INSTANTIATE(float)
LIMARP_INSTANTIATE(double)
#undef LIMARP_INSTANTIATE

}  // namespace limarp::kernels
