#include "kernels/attention.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/ops.h"

namespace limarp::kernels {

void attention(float* out, const float* q, const float* k, const float* v, int64_t kv_stride, int64_t T,
               int64_t pos0, AttentionShape s, ThreadPool& pool) {
  const int64_t dim = s.n_heads * s.head_dim;
  const int64_t group = s.n_heads / s.n_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  // Work grows with the keys each query sees; small problems stay on the calling thread.
  const int64_t work = T * s.n_heads * (pos0 + T) * s.head_dim;
  auto body = [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(pos0 + T));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t t = task / s.n_heads, h = task % s.n_heads;
      const int64_t kvh = h / group;
      const int64_t n_keys = pos0 + t + 1;
      const float* qh = q + t * dim + h * s.head_dim;
      for (int64_t p = 0; p < n_keys; ++p)
        scores[p] = dot_f32(qh, k + p * kv_stride + kvh * s.head_dim, s.head_dim) * scale;
      softmax(scores.data(), n_keys);
      float* oh = out + t * dim + h * s.head_dim;
      std::memset(oh, 0, sizeof(float) * s.head_dim);
      for (int64_t p = 0; p < n_keys; ++p) axpy(oh, scores[p], v + p * kv_stride + kvh * s.head_dim, s.head_dim);
    }
  };
  if (work < (int64_t{1} << 16)) body(0, T * s.n_heads);
  else pool.parallel_for(T * s.n_heads, 1, body);
}

namespace {

template <typename F>
F dot(const F* a, const F* b, int64_t n) {
  F s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

template <typename F>
void attention_forward_group(F* out, F* lse, const F* q, const F* k, const F* v, F* scratch, int64_t T,
                             AttentionShape s, int64_t group) {
  const int64_t hd = s.head_dim, dim = s.n_heads * hd, kv = s.n_kv_heads * hd;
  const int64_t per_group = s.n_heads / s.n_kv_heads;
  const F scale = F(1) / std::sqrt(static_cast<F>(hd));
  const F* kg = k + group * hd;
  const F* vg = v + group * hd;
  for (int64_t h = group * per_group; h < (group + 1) * per_group; ++h)
    for (int64_t t = 0; t < T; ++t) {
      const F* qt = q + t * dim + h * hd;
      F mx = -INFINITY;
      for (int64_t p = 0; p <= t; ++p) {
        scratch[p] = dot(qt, kg + p * kv, hd) * scale;
        mx = std::max(mx, scratch[p]);
      }
      double sum = 0;
      for (int64_t p = 0; p <= t; ++p) {
        scratch[p] = std::exp(scratch[p] - mx);
        sum += static_cast<double>(scratch[p]);
      }
      const F inv = static_cast<F>(1.0 / sum);
      F* ot = out + t * dim + h * hd;
      for (int64_t i = 0; i < hd; ++i) ot[i] = 0;
      for (int64_t p = 0; p <= t; ++p) {
        const F w = scratch[p] * inv;
        const F* vp = vg + p * kv;
        for (int64_t i = 0; i < hd; ++i) ot[i] += w * vp[i];
      }
      lse[t * s.n_heads + h] = mx + static_cast<F>(std::log(sum));
    }
}

template <typename F>
void attention_backward_group(F* dq, F* dk, F* dv, const F* dout, const F* q, const F* k, const F* v, const F* out,
                              const F* lse, int64_t T, AttentionShape s, int64_t group) {
  const int64_t hd = s.head_dim, dim = s.n_heads * hd, kv = s.n_kv_heads * hd;
  const int64_t per_group = s.n_heads / s.n_kv_heads;
  const F scale = F(1) / std::sqrt(static_cast<F>(hd));
  const F* kg = k + group * hd;
  const F* vg = v + group * hd;
  F* dkg = dk + group * hd;
  F* dvg = dv + group * hd;
  for (int64_t p = 0; p < T; ++p)
    for (int64_t i = 0; i < hd; ++i) dkg[p * kv + i] = dvg[p * kv + i] = 0;
  for (int64_t h = group * per_group; h < (group + 1) * per_group; ++h)
    for (int64_t t = 0; t < T; ++t) {
      // Forward: s_p = scale q·k_p, P_p = exp(s_p - lse), o = sum_p P_p v_p.
      const F* qt = q + t * dim + h * hd;
      const F* dot_ = dout + t * dim + h * hd;
      const F l = lse[t * s.n_heads + h];
      // D = sum_p P_p (dout·v_p) = dout·o, the softmax-backward correction.
      const F d = dot(dot_, out + t * dim + h * hd, hd);
      F* dqt = dq + t * dim + h * hd;
      for (int64_t i = 0; i < hd; ++i) dqt[i] = 0;
      for (int64_t p = 0; p <= t; ++p) {
        const F prob = std::exp(dot(qt, kg + p * kv, hd) * scale - l);
        const F dprob = dot(dot_, vg + p * kv, hd);
        const F ds = prob * (dprob - d) * scale;  // d loss / d (q·k_p)
        const F* kp = kg + p * kv;
        F* dkp = dkg + p * kv;
        F* dvp = dvg + p * kv;
        for (int64_t i = 0; i < hd; ++i) {
          dqt[i] += ds * kp[i];
          dkp[i] += ds * qt[i];
          dvp[i] += prob * dot_[i];
        }
      }
    }
}

#define LIMARP_INSTANTIATE(F)                                                                                \
  template void attention_forward_group<F>(F*, F*, const F*, const F*, const F*, F*, int64_t, AttentionShape, \
                                           int64_t);                                                         \
  template void attention_backward_group<F>(F*, F*, F*, const F*, const F*, const F*, const F*, const F*,     \
                                            const F*, int64_t, AttentionShape, int64_t);
LIMARP_INSTANTIATE(float)
LIMARP_INSTANTIATE(double)
#undef LIMARP_INSTANTIATE

}  // namespace limarp::kernels
