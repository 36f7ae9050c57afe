#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace limarp::kernels {

namespace {

// Many queries at once, as matrix products per key/value head: the query rows of every head in
// the group (GQA) are stacked, S = Q·Kᵀ runs through the f32 matmul kernels, then a causal,
// scaled softmax per row, then O = P·V. The full square of scores is computed (the upper
// triangle is masked), which costs twice the minimum but lets each product use the 4 x 4
// register tiles of the matmul kernels instead of one dot product per key.
void attention_blocked(float* out, const float* q, const float* k, const float* v, int64_t kv_stride, int64_t T,
                       int64_t pos0, AttentionShape s, ThreadPool& pool) {
  const int64_t dim = s.n_heads * s.head_dim, hd = s.head_dim;
  const int64_t group = s.n_heads / s.n_kv_heads;
  const int64_t n_keys = pos0 + T;
  const int64_t keys_padded = (n_keys + 15) / 16 * 16;  // whole vectors for the f32 kernels
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  std::vector<float> kg(static_cast<size_t>(keys_padded * hd), 0.0f), vt(static_cast<size_t>(hd * keys_padded), 0.0f);
  std::vector<float> qg(static_cast<size_t>(group * T * hd)), scores(static_cast<size_t>(group * T * keys_padded));
  std::vector<float> og(static_cast<size_t>(group * T * hd));
  for (int64_t g = 0; g < s.n_kv_heads; ++g) {
    for (int64_t p = 0; p < n_keys; ++p) {
      std::memcpy(kg.data() + p * hd, k + p * kv_stride + g * hd, sizeof(float) * static_cast<size_t>(hd));
      for (int64_t d = 0; d < hd; ++d) vt[static_cast<size_t>(d * keys_padded + p)] = v[p * kv_stride + g * hd + d];
    }
    for (int64_t h = 0; h < group; ++h)
      for (int64_t t = 0; t < T; ++t)
        std::memcpy(qg.data() + (h * T + t) * hd, q + t * dim + (g * group + h) * hd, sizeof(float) * static_cast<size_t>(hd));
    const TensorView kview{DType::kF32, {keys_padded, hd}, kg.data(), static_cast<uint64_t>(kg.size() * 4)};
    const TensorView vview{DType::kF32, {hd, keys_padded}, vt.data(), static_cast<uint64_t>(vt.size() * 4)};
    matmul(scores.data(), qg.data(), kview, group * T, pool);
    pool.parallel_for(group * T, 8, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const int64_t t = row % T, visible = pos0 + t + 1;
        float* sr = scores.data() + row * keys_padded;
        for (int64_t p = 0; p < visible; ++p) sr[p] *= scale;
        softmax(sr, visible);
        std::fill(sr + visible, sr + keys_padded, 0.0f);
      }
    });
    matmul(og.data(), scores.data(), vview, group * T, pool);
    for (int64_t h = 0; h < group; ++h)
      for (int64_t t = 0; t < T; ++t)
        std::memcpy(out + t * dim + (g * group + h) * hd, og.data() + (h * T + t) * hd, sizeof(float) * static_cast<size_t>(hd));
  }
}

}  // namespace

void attention(float* out, const float* q, const float* k, const float* v, int64_t kv_stride, int64_t T,
               int64_t pos0, AttentionShape s, ThreadPool& pool) {
  if (T >= kBlockedAttentionMinTokens) {
    attention_blocked(out, q, k, v, kv_stride, T, pos0, s, pool);
    return;
  }
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
