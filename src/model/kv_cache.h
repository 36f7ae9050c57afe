// Keys and values of every evaluated position, per layer, so decoding a token attends to the
// whole history without recomputing it. Keys are stored already rotated for their position.
//
// Layout: per layer and key/value head, `capacity` rows of head_dim elements, so the keys one
// head attends over lie back to back and stream from memory in order. Elements are f16 by
// default (what llama.cpp keeps too): half the memory of f32, and half the bytes each decoded
// token reads, which at a few thousand tokens of chat rival the weights'. f32 keeps attention
// exact (reference tests).
#pragma once

#include <cstdint>

#include "base/status.h"
#include "kernels/attention.h"
#include "kernels/kv_rows.h"
#include "model/llama_config.h"
#include "tensor/tensor.h"

namespace limarp {

class KvCache {
 public:
  KvCache(const LlamaConfig& config, int64_t capacity, DType type = DType::kF16);

  int64_t capacity() const { return capacity_; }
  int64_t size() const { return size_; }  // positions filled
  int64_t kv_dim() const { return n_kv_heads_ * head_dim_; }
  DType type() const { return type_; }
  uint64_t bytes() const { return bytes_for(n_layers_, n_kv_heads_ * head_dim_, capacity_, type_); }
  // What a cache of this shape takes, before one exists.
  static uint64_t bytes_for(int64_t n_layers, int64_t kv_dim, int64_t capacity, DType type) {
    return 2 * static_cast<uint64_t>(n_layers * kv_dim * capacity) * kernels::kv_element_bytes(type);
  }

  // Writes keys and values of positions [pos, pos + n): k and v are [n, kv_dim] rows.
  void store(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v);
  kernels::KvHeads keys(int64_t layer) const { return view(layer, 0); }
  kernels::KvHeads values(int64_t layer) const { return view(layer, 1); }
  // The key or value row of one position, all heads, as f32 ([kv_dim]).
  void read_key(int64_t layer, int64_t pos, float* out) const { read(layer, 0, pos, out); }
  void read_value(int64_t layer, int64_t pos, float* out) const { read(layer, 1, pos, out); }

  // Forgets positions >= n (prefix reuse keeps the first n).
  void truncate(int64_t n) { size_ = n < size_ ? n : size_; }
  void clear() { size_ = 0; }
  // Marks positions up to n as filled (called by the forward pass after writing them).
  void set_size(int64_t n) { size_ = n; }

  // Removes positions [begin, end) and moves the later ones down, re-rotating their keys for
  // their new positions, so dropping old chat turns needs no re-evaluation.
  Status shift_out(int64_t begin, int64_t end, const LlamaConfig& config);

 private:
  uint64_t row_bytes() const { return static_cast<uint64_t>(head_dim_) * kernels::kv_element_bytes(type_); }
  uint64_t layer_bytes() const { return row_bytes() * static_cast<uint64_t>(capacity_ * n_kv_heads_); }
  // which: 0 keys, 1 values.
  uint8_t* head_rows(int64_t layer, int which, int64_t head) const;
  kernels::KvHeads view(int64_t layer, int which) const;
  void read(int64_t layer, int which, int64_t pos, float* out) const;

  int64_t n_layers_, n_kv_heads_, head_dim_, capacity_;
  DType type_;
  int64_t size_ = 0;
  AlignedBuffer data_;  // [layer][keys, values][kv head][capacity][head_dim]
};

}  // namespace limarp
