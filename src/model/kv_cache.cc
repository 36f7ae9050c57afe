#include "model/kv_cache.h"

#include <cstring>

#include "kernels/rope.h"

namespace limarp {

KvCache::KvCache(const LlamaConfig& config, int64_t capacity)
    : n_layers_(config.n_layers), capacity_(capacity), kv_dim_(config.kv_dim()) {
  k_.assign(static_cast<size_t>(n_layers_ * capacity_ * kv_dim_), 0.0f);
  v_.assign(k_.size(), 0.0f);
}

Status KvCache::shift_out(int64_t begin, int64_t end, const LlamaConfig& config) {
  if (begin < 0 || end < begin || end > size_)
    return make_error("kv cache: cannot remove positions [{}, {}) of {}", begin, end, size_);
  const int64_t removed = end - begin;
  if (removed == 0) return {};
  const int64_t hd = config.head_dim();
  // A key rotated for position p becomes one for p - removed by rotating back by `removed`:
  // rotations compose, so R(p - d) = R(-d) R(p).
  std::vector<float> cs(static_cast<size_t>(hd));
  kernels::rope_cos_sin(cs.data(), removed, hd, config.rope_theta);
  for (int64_t l = 0; l < n_layers_; ++l) {
    float* kl = k(l);
    float* vl = v(l);
    for (int64_t p = end; p < size_; ++p) {
      float* dst_k = kl + (p - removed) * kv_dim_;
      std::memmove(dst_k, kl + p * kv_dim_, sizeof(float) * kv_dim_);
      std::memmove(vl + (p - removed) * kv_dim_, vl + p * kv_dim_, sizeof(float) * kv_dim_);
      kernels::rope_apply_inverse(dst_k, cs.data(), config.n_kv_heads, hd, config.rope_layout);
    }
  }
  size_ -= removed;
  return {};
}

}  // namespace limarp
