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

// out = softmax(row); out may alias row.
template <typename F>
void softmax_row(F* out, const F* row, int64_t V) {
  F mx;
  double ls;
  log_sum_exp(row, V, &mx, &ls);
  if constexpr (std::is_same_v<F, float>) {
    // exp(x - (max + log-sum)), computed in place in the output row.
    if (out != row) std::copy(row, row + V, out);
    exp_shifted_inplace(out, mx + static_cast<float>(ls), V);
  } else {
    for (int64_t i = 0; i < V; ++i) out[i] = static_cast<F>(std::exp(static_cast<double>(row[i] - mx) - ls));
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
    softmax_row(drow, logits + t * V, V);
    for (int64_t i = 0; i < V; ++i) drow[i] *= dloss[t];
    drow[targets[t]] -= dloss[t];
  }
}

template <typename F>
void stop_choice_backward(F* dlogits, const F* logits, int32_t target, int32_t stop, F dloss, F dchoice, int64_t V) {
  if (target == stop) {  // B is then the row's CE: the two weights add
    const F d = dloss + dchoice;
    cross_entropy_backward(dlogits, logits, &target, &d, 1, V);
    return;
  }
  softmax_row(dlogits, logits, V);
  // dB/dz = p_stop · (onehot(stop) - q), q = p renormalised without stop. 1 - p_stop is summed
  // over the other entries rather than taken as a difference, so a near-certain stop does not
  // divide by a rounding error.
  double rest = 0;
  for (int64_t i = 0; i < V; ++i) rest += i == stop ? 0.0 : static_cast<double>(dlogits[i]);
  const F p_stop = dlogits[stop];
  const F shrink = rest > 0 ? static_cast<F>(static_cast<double>(p_stop) / rest) : F(0);
  for (int64_t i = 0; i < V; ++i) dlogits[i] *= dloss - dchoice * shrink;
  dlogits[stop] = (dloss + dchoice) * p_stop;
  dlogits[target] -= dloss;
}

template void cross_entropy_forward<float>(float*, const float*, const int32_t*, int64_t, int64_t);
template void cross_entropy_forward<double>(double*, const double*, const int32_t*, int64_t, int64_t);
template void cross_entropy_backward<float>(float*, const float*, const int32_t*, const float*, int64_t, int64_t);
template void cross_entropy_backward<double>(double*, const double*, const int32_t*, const double*, int64_t, int64_t);
template void stop_choice_backward<float>(float*, const float*, int32_t, int32_t, float, float, int64_t);
template void stop_choice_backward<double>(double*, const double*, int32_t, int32_t, double, double, int64_t);

}  // namespace limarp::kernels
