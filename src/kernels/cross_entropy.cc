#include "kernels/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/vector_math.h"

namespace limarp::kernels {
namespace {

// (row maximum, log of the sum of exp(x - max)). The float build uses the vectorised exp and
// reductions on stack chunks (the row itself must not change); the double build is the
// reference, in double throughout.
template <typename F>
void log_sum_exp(const F* x, int64_t V, F* mx, double* log_sum) {
  if constexpr (std::is_same_v<F, float>) {
    const float m = max_f32(x, V);
    constexpr int64_t kChunk = 256;
    float buf[kChunk];
    double sum = 0;
    for (int64_t i = 0; i < V; i += kChunk) {
      const int64_t n = std::min(kChunk, V - i);
      std::copy(x + i, x + i + n, buf);
      exp_shifted_inplace(buf, m, n);
      sum += sum_f32(buf, n);
    }
    *mx = m;
    *log_sum = std::log(sum);
  } else {
    F m = x[0];
    for (int64_t i = 1; i < V; ++i) m = std::max(m, x[i]);
    double sum = 0;
    for (int64_t i = 0; i < V; ++i) sum += std::exp(static_cast<double>(x[i] - m));
    *mx = m;
    *log_sum = std::log(sum);
  }
}

}  // namespace

template <typename F>
void cross_entropy_forward(F* losses, const F* logits, const int32_t* targets, int64_t T, int64_t V) {
  for (int64_t t = 0; t < T; ++t) {
    if (targets[t] < 0) {
      losses[t] = 0;
      continue;
    }
    const F* row = logits + t * V;
    F mx;
    double ls;
    log_sum_exp(row, V, &mx, &ls);
    losses[t] = static_cast<F>(ls - static_cast<double>(row[targets[t]] - mx));
  }
}

template <typename F>
void cross_entropy_backward(F* dlogits, const F* logits, const int32_t* targets, const F* dloss, int64_t T, int64_t V) {
  for (int64_t t = 0; t < T; ++t) {
    F* drow = dlogits + t * V;
    if (targets[t] < 0) {
      std::fill(drow, drow + V, F(0));
      continue;
    }
    const F* row = logits + t * V;
    F mx;
    double ls;
    log_sum_exp(row, V, &mx, &ls);
    if constexpr (std::is_same_v<F, float>) {
      // softmax = exp(x - (max + log-sum)), computed in place in the gradient row.
      if (drow != row) std::copy(row, row + V, drow);
      exp_shifted_inplace(drow, mx + static_cast<float>(ls), V);
      for (int64_t i = 0; i < V; ++i) drow[i] *= dloss[t];
    } else {
      for (int64_t i = 0; i < V; ++i) drow[i] = dloss[t] * static_cast<F>(std::exp(static_cast<double>(row[i] - mx) - ls));
    }
    drow[targets[t]] -= dloss[t];
  }
}

template void cross_entropy_forward<float>(float*, const float*, const int32_t*, int64_t, int64_t);
template void cross_entropy_forward<double>(double*, const double*, const int32_t*, int64_t, int64_t);
template void cross_entropy_backward<float>(float*, const float*, const int32_t*, const float*, int64_t, int64_t);
template void cross_entropy_backward<double>(double*, const double*, const int32_t*, const double*, int64_t, int64_t);

}  // namespace limarp::kernels
