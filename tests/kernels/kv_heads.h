// Test helper: keys or values given position by position ([T, n_kv_heads * head_dim] floats)
// laid out as a KV cache holds them (per head, consecutive positions), in any KV type.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/attention.h"
#include "kernels/kv_rows.h"

namespace limarp::kernels {

class HeadMajor {
 public:
  HeadMajor(const std::vector<float>& rows, int64_t T, int64_t n_kv_heads, int64_t head_dim, DType type)
      : type_(type), head_stride_(T * head_dim) {
    const size_t row = kv_bytes(type, head_dim);
    bytes_.resize(static_cast<size_t>(T * n_kv_heads) * row);
    for (int64_t h = 0; h < n_kv_heads; ++h)
      for (int64_t p = 0; p < T; ++p)
        store_kv_row_scalar(bytes_.data() + static_cast<size_t>(h * T + p) * row, type,
                            rows.data() + (p * n_kv_heads + h) * head_dim, head_dim);
  }
  KvHeads view() const { return {bytes_.data(), type_, head_stride_}; }

 private:
  DType type_;
  int64_t head_stride_;
  std::vector<uint8_t> bytes_;
};

}  // namespace limarp::kernels
