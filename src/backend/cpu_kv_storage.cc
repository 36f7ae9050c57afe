#include "backend/cpu_kv_storage.h"

#include <cstring>
#include <vector>

#include "base/status.h"
#include "kernels/kv_rows.h"

namespace limarp {

CpuKvStorage::CpuKvStorage(const KvShape& shape) : KvStorage(shape) {
  LIMARP_CHECK(kernels::is_kv_type(shape.type));
  // Pages are touched only as positions fill, so a long context costs memory only when used.
  data_ = allocate_aligned_uninitialized(bytes());
}

uint64_t CpuKvStorage::row_bytes() const {
  return kernels::kv_bytes(shape().type, shape().head_dim);
}

uint64_t CpuKvStorage::layer_bytes() const {
  return row_bytes() * static_cast<uint64_t>(shape().capacity * shape().n_kv_heads);
}

uint64_t CpuKvStorage::bytes() const { return 2 * layer_bytes() * static_cast<uint64_t>(shape().n_layers); }

uint8_t* CpuKvStorage::head_rows(int64_t layer, int which, int64_t head) const {
  return data_.get() + (2 * layer + which) * layer_bytes() + static_cast<uint64_t>(head * shape().capacity) * row_bytes();
}

kernels::KvHeads CpuKvStorage::view(int64_t layer, int which) const {
  return {head_rows(layer, which, 0), shape().type, shape().capacity * shape().head_dim};
}

void CpuKvStorage::store(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v) {
  const KvShape& s = shape();
  LIMARP_CHECK(pos >= 0 && pos + n <= s.capacity);
  const int64_t kv = s.kv_dim();
  for (int which = 0; which < 2; ++which) {
    const float* src = which == 0 ? k : v;
    for (int64_t h = 0; h < s.n_kv_heads; ++h) {
      uint8_t* rows = head_rows(layer, which, h);
      for (int64_t t = 0; t < n; ++t)
        kernels::store_kv_row(rows + (pos + t) * row_bytes(), s.type, src + t * kv + h * s.head_dim, s.head_dim);
    }
  }
}

void CpuKvStorage::read(int64_t layer, int which, int64_t pos, float* out) const {
  const KvShape& s = shape();
  LIMARP_CHECK(pos >= 0 && pos < s.capacity);
  for (int64_t h = 0; h < s.n_kv_heads; ++h)
    kernels::load_kv_row(out + h * s.head_dim, head_rows(layer, which, h) + pos * row_bytes(), s.type, s.head_dim);
}

void remove_kv_positions(uint8_t* layer, const KvShape& s, int64_t begin, int64_t end, int64_t size,
                         const RotaryTable& rotary, RopeLayout layout) {
  const int64_t removed = end - begin;
  const uint64_t row_bytes = kernels::kv_bytes(s.type, s.head_dim);
  const uint64_t head_bytes = row_bytes * static_cast<uint64_t>(s.capacity);
  // Rotated in f32; an f16 key is rounded once more. Every scaling keeps one constant frequency
  // per pair, so the composition holds for them too; YaRN's attention factor scaled the key
  // once, at store time, and must not be applied again here (mscale 1).
  std::vector<float> cs(static_cast<size_t>(s.head_dim)), row(static_cast<size_t>(s.head_dim));
  kernels::rope_cos_sin(cs.data(), removed, rotary.inv_freq, s.head_dim, 1.0f);
  const size_t moved = static_cast<size_t>(size - end) * row_bytes;
  for (int64_t h = 0; h < s.n_kv_heads; ++h) {
    uint8_t* keys = layer + static_cast<uint64_t>(h) * head_bytes;
    uint8_t* values = layer + static_cast<uint64_t>(s.n_kv_heads + h) * head_bytes;
    std::memmove(keys + begin * row_bytes, keys + end * row_bytes, moved);
    std::memmove(values + begin * row_bytes, values + end * row_bytes, moved);
    for (int64_t p = begin; p < size - removed; ++p) {
      uint8_t* key = keys + p * row_bytes;
      kernels::load_kv_row(row.data(), key, s.type, s.head_dim);
      kernels::rope_apply_inverse(row.data(), cs.data(), 1, s.head_dim, layout);
      kernels::store_kv_row(key, s.type, row.data(), s.head_dim);
    }
  }
}

void CpuKvStorage::remove(int64_t begin, int64_t end, int64_t size, const RotaryTable& rotary, RopeLayout layout) {
  for (int64_t l = 0; l < shape().n_layers; ++l)
    remove_kv_positions(head_rows(l, 0, 0), shape(), begin, end, size, rotary, layout);
}

}  // namespace limarp
