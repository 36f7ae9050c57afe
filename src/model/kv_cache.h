// Keys and values of every evaluated position, per layer, so decoding a token attends to the
// whole history without recomputing it. Keys are stored already rotated for their position.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "model/llama_config.h"

namespace limarp {

class KvCache {
 public:
  KvCache(const LlamaConfig& config, int64_t capacity);

  int64_t capacity() const { return capacity_; }
  int64_t size() const { return size_; }      // positions filled
  int64_t kv_dim() const { return kv_dim_; }
  uint64_t bytes() const { return (k_.size() + v_.size()) * sizeof(float); }

  float* k(int64_t layer) { return k_.data() + layer * capacity_ * kv_dim_; }  // [capacity, kv_dim]
  float* v(int64_t layer) { return v_.data() + layer * capacity_ * kv_dim_; }
  const float* k(int64_t layer) const { return k_.data() + layer * capacity_ * kv_dim_; }
  const float* v(int64_t layer) const { return v_.data() + layer * capacity_ * kv_dim_; }

  // Forgets positions >= n (prefix reuse keeps the first n).
  void truncate(int64_t n) { size_ = n < size_ ? n : size_; }
  void clear() { size_ = 0; }
  // Marks positions up to n as filled (called by the forward pass after writing them).
  void set_size(int64_t n) { size_ = n; }

  // Removes positions [begin, end) and moves the later ones down, re-rotating their keys for
  // their new positions, so dropping old chat turns needs no re-evaluation.
  Status shift_out(int64_t begin, int64_t end, const LlamaConfig& config);

 private:
  int64_t n_layers_, capacity_, kv_dim_;
  int64_t size_ = 0;
  std::vector<float> k_, v_;
};

}  // namespace limarp
