#include "kernels/rope.h"

#include <cmath>

namespace limarp::kernels {

void rope_inv_freq(float* inv_freq, int64_t head_dim, float theta) {
  for (int64_t i = 0; i < head_dim / 2; ++i)
    inv_freq[i] = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(head_dim));
}

void rope_cos_sin(float* cos_sin, int64_t pos, const float* inv_freq, int64_t head_dim, float mscale) {
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    const double angle = static_cast<double>(pos) * static_cast<double>(inv_freq[i]);
    // Multiplying by exactly 1 leaves unscaled tables bit-identical to the unscaled formula.
    cos_sin[2 * i] = static_cast<float>(std::cos(angle)) * mscale;
    cos_sin[2 * i + 1] = static_cast<float>(std::sin(angle)) * mscale;
  }
}

namespace {
template <int kSign, typename F>
void rotate(F* x, const float* cs, int64_t n_heads, int64_t head_dim, RopeLayout layout) {
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < n_heads; ++h) {
    F* v = x + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      const F c = cs[2 * i], s = kSign * cs[2 * i + 1];
      const int64_t a = layout == RopeLayout::kInterleaved ? 2 * i : i;
      const int64_t b = layout == RopeLayout::kInterleaved ? 2 * i + 1 : i + half;
      const F x0 = v[a], x1 = v[b];
      v[a] = x0 * c - x1 * s;
      v[b] = x0 * s + x1 * c;
    }
  }
}
}  // namespace

template <typename F>
void rope_apply(F* x, const float* cos_sin, int64_t n_heads, int64_t head_dim, RopeLayout layout) {
  rotate<1>(x, cos_sin, n_heads, head_dim, layout);
}

template <typename F>
void rope_apply_inverse(F* x, const float* cos_sin, int64_t n_heads, int64_t head_dim, RopeLayout layout) {
  rotate<-1>(x, cos_sin, n_heads, head_dim, layout);
}

template void rope_apply<float>(float*, const float*, int64_t, int64_t, RopeLayout);
template void rope_apply<double>(double*, const float*, int64_t, int64_t, RopeLayout);
template void rope_apply_inverse<float>(float*, const float*, int64_t, int64_t, RopeLayout);
template void rope_apply_inverse<double>(double*, const float*, int64_t, int64_t, RopeLayout);

}  // namespace limarp::kernels
