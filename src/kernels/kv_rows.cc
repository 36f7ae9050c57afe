#include "kernels/kv_rows.h"

#include <algorithm>
#include <cstring>

#include "base/half.h"
#include "kernels/cpu/registry.h"
#include "tensor/quant_blocks.h"
#include "tensor/quantize.h"

namespace limarp::kernels {

bool is_kv_type(DType type) {
  return type == DType::kF32 || type == DType::kF16 || type == DType::kQ8_0 || type == DType::kQ4_0;
}

size_t kv_bytes(DType type, int64_t n) {
  switch (type) {
    case DType::kF32: return 4 * static_cast<size_t>(n);
    case DType::kF16: return 2 * static_cast<size_t>(n);
    case DType::kQ8_0: return sizeof(BlockQ8_0) * static_cast<size_t>(n / kQK);
    case DType::kQ4_0: return sizeof(BlockQ4_0) * static_cast<size_t>(n / kQK);
    default: return 0;
  }
}

bool kv_type_fits(DType type, int64_t head_dim) {
  if (!is_kv_type(type)) return false;
  return (type != DType::kQ8_0 && type != DType::kQ4_0) || head_dim % kQK == 0;
}

void weighted_row_sum_scalar(float* out, const float* w, const void* rows, DType type, int64_t n, int64_t dim) {
  const auto* base = static_cast<const uint8_t*>(rows);
  const size_t stride = kv_bytes(type, dim);
  for (int64_t i = 0; i < dim; ++i) out[i] = 0;
  // A block at a time, on the stack: no allocation while decoding.
  float row[kQK];
  for (int64_t p = 0; p < n; ++p)
    for (int64_t c = 0; c < dim; c += kQK) {
      const int64_t len = std::min<int64_t>(kQK, dim - c);
      load_kv_row_scalar(row, base + p * stride + kv_bytes(type, c), type, len);
      for (int64_t i = 0; i < len; ++i) out[c + i] += w[p] * row[i];
    }
}

void store_kv_row_scalar(void* dst, DType type, const float* src, int64_t n) {
  switch (type) {
    case DType::kF32: std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(n)); return;
    case DType::kF16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = f32_to_f16(src[i]);
      return;
    }
    default: quantize_row(type, src, dst, n); return;
  }
}

void load_kv_row_scalar(float* dst, const void* src, DType type, int64_t n) {
  switch (type) {
    case DType::kF32: std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(n)); return;
    case DType::kF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
      return;
    }
    default: dequantize_row(type, src, dst, n); return;
  }
}

void weighted_row_sum(float* out, const float* w, const void* rows, DType type, int64_t n, int64_t dim) {
  active_level().weighted_row_sum(out, w, rows, type, n, dim);
}

void store_kv_row(void* dst, DType type, const float* src, int64_t n) {
  active_level().store_kv_row(dst, type, src, n);
}

void load_kv_row(float* dst, const void* src, DType type, int64_t n) {
  active_level().load_kv_row(dst, src, type, n);
}

}  // namespace limarp::kernels
