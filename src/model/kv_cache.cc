#include "model/kv_cache.h"

#include <cstring>
#include <vector>

#include "kernels/kv_rows.h"
#include "kernels/rope.h"

namespace limarp {

KvCache::KvCache(const LlamaConfig& config, int64_t capacity, DType type)
    : n_layers_(config.n_layers),
      n_kv_heads_(config.n_kv_heads),
      head_dim_(config.head_dim()),
      capacity_(capacity),
      type_(type) {
  LIMARP_CHECK(kernels::is_kv_type(type));
  // Pages are touched only as positions fill, so a long context costs memory only when used.
  data_ = allocate_aligned_uninitialized(bytes());
}

uint8_t* KvCache::head_rows(int64_t layer, int which, int64_t head) const {
  return data_.get() + (2 * layer + which) * layer_bytes() + static_cast<uint64_t>(head * capacity_) * row_bytes();
}

kernels::KvHeads KvCache::view(int64_t layer, int which) const {
  return {head_rows(layer, which, 0), type_, capacity_ * head_dim_};
}

void KvCache::store(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v) {
  LIMARP_CHECK(pos >= 0 && pos + n <= capacity_);
  const int64_t kv = kv_dim();
  for (int which = 0; which < 2; ++which) {
    const float* src = which == 0 ? k : v;
    for (int64_t h = 0; h < n_kv_heads_; ++h) {
      uint8_t* rows = head_rows(layer, which, h);
      for (int64_t t = 0; t < n; ++t)
        kernels::store_kv_row(rows + (pos + t) * row_bytes(), type_, src + t * kv + h * head_dim_, head_dim_);
    }
  }
}

void KvCache::read(int64_t layer, int which, int64_t pos, float* out) const {
  LIMARP_CHECK(pos >= 0 && pos < capacity_);
  for (int64_t h = 0; h < n_kv_heads_; ++h)
    kernels::load_kv_row(out + h * head_dim_, head_rows(layer, which, h) + pos * row_bytes(), type_, head_dim_);
}

Status KvCache::shift_out(int64_t begin, int64_t end, const LlamaConfig& config) {
  if (begin < 0 || end < begin || end > size_)
    return make_error("kv cache: cannot remove positions [{}, {}) of {}", begin, end, size_);
  const int64_t removed = end - begin;
  if (removed == 0) return {};
  // A key rotated for position p becomes one for p - removed by rotating back by `removed`:
  // rotations compose, so R(p - d) = R(-d) R(p). Rotated in f32; an f16 key is rounded once more.
  // Every scaling keeps one constant frequency per pair, so this holds for them too; YaRN's
  // attention factor scales the key once, at store time, and must not be applied again here.
  std::vector<float> cs(static_cast<size_t>(head_dim_)), row(static_cast<size_t>(head_dim_));
  const RopeFrequencies freq = config.rope_frequencies();
  kernels::rope_cos_sin(cs.data(), removed, freq.inv_freq.data(), head_dim_, 1.0f);
  const size_t moved = static_cast<size_t>(size_ - end) * row_bytes();
  for (int64_t l = 0; l < n_layers_; ++l)
    for (int64_t h = 0; h < n_kv_heads_; ++h) {
      uint8_t* keys = head_rows(l, 0, h);
      uint8_t* values = head_rows(l, 1, h);
      std::memmove(keys + begin * row_bytes(), keys + end * row_bytes(), moved);
      std::memmove(values + begin * row_bytes(), values + end * row_bytes(), moved);
      for (int64_t p = begin; p < size_ - removed; ++p) {
        uint8_t* key = keys + p * row_bytes();
        kernels::load_kv_row(row.data(), key, type_, head_dim_);
        kernels::rope_apply_inverse(row.data(), cs.data(), 1, head_dim_, config.rope_layout);
        kernels::store_kv_row(key, type_, row.data(), head_dim_);
      }
    }
  size_ -= removed;
  return {};
}

}  // namespace limarp
