// Keys and values of every evaluated position, per layer, so decoding a token attends to the
// whole history without recomputing it. Keys are stored already rotated for their position.
//
// The rows live in a KvStorage that a backend makes (backend/kv_storage.h) and only that
// backend's operations read; this class keeps how many positions are filled and what a
// session does with them (prefix reuse, shifting old turns out). Built without a backend it
// uses the CPU's storage: per layer and key/value head, `capacity` rows of head_dim elements,
// f16 by default (what llama.cpp keeps too: half the memory of f32, and half the bytes each
// decoded token reads, which at a few thousand tokens of chat rival the weights'); f32 keeps
// attention exact (reference tests).
#pragma once

#include <cstdint>
#include <memory>

#include "backend/backend.h"
#include "base/status.h"
#include "kernels/kv_rows.h"
#include "model/llama_config.h"

namespace limarp {

class KvCache {
 public:
  KvCache(const LlamaConfig& config, int64_t capacity, DType type = DType::kF16);
  // Over storage made elsewhere (Forward::make_kv_cache: split by layer under offload).
  explicit KvCache(std::unique_ptr<KvStorage> storage) : storage_(std::move(storage)) {}

  int64_t capacity() const { return storage_->shape().capacity; }
  int64_t size() const { return size_; }  // positions filled
  int64_t kv_dim() const { return storage_->shape().kv_dim(); }
  DType type() const { return storage_->shape().type; }
  uint64_t bytes() const { return storage_->bytes(); }
  // What a cache of this shape takes, before one exists.
  static uint64_t bytes_for(int64_t n_layers, int64_t kv_dim, int64_t capacity, DType type) {
    return 2 * static_cast<uint64_t>(n_layers * capacity) * kernels::kv_bytes(type, kv_dim);
  }
  const KvStorage& storage() const { return *storage_; }

  // Writes keys and values of positions [pos, pos + n): k and v are [n, kv_dim] rows.
  void store(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v) {
    storage_->store(layer, pos, n, k, v);
  }
  // The same from host rows (slot files), whatever the backend.
  void store_host(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v) {
    storage_->store_host(layer, pos, n, k, v);
  }
  // The key or value row of one position, all heads, as f32 ([kv_dim]).
  void read_key(int64_t layer, int64_t pos, float* out) const { storage_->read(layer, 0, pos, out); }
  void read_value(int64_t layer, int64_t pos, float* out) const { storage_->read(layer, 1, pos, out); }

  // Forgets positions >= n (prefix reuse keeps the first n).
  void truncate(int64_t n) { size_ = n < size_ ? n : size_; }
  void clear() { size_ = 0; }
  // Marks positions up to n as filled (called by the forward pass after writing them).
  void set_size(int64_t n) { size_ = n; }

  // Removes positions [begin, end) and moves the later ones down, re-rotating their keys for
  // their new positions, so dropping old chat turns needs no re-evaluation.
  Status shift_out(int64_t begin, int64_t end, const LlamaConfig& config);

 private:
  std::unique_ptr<KvStorage> storage_;
  int64_t size_ = 0;
};

}  // namespace limarp
