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

}  // namespace limarp::kernels
