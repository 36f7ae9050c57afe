#include "kernels/kv_rows.h"

#include <cstring>

#include "base/half.h"
#include "kernels/cpu/registry.h"

namespace limarp::kernels {
namespace {

// Element i of a row as f32.
inline float element(const void* row, DType type, int64_t i) {
  if (type == DType::kF16) return f16_to_f32(static_cast<const uint16_t*>(row)[i]);
  return static_cast<const float*>(row)[i];
}

}  // namespace

bool is_kv_type(DType type) { return type == DType::kF32 || type == DType::kF16; }

void weighted_row_sum_scalar(float* out, const float* w, const void* rows, DType type, int64_t n, int64_t dim) {
  const auto* base = static_cast<const uint8_t*>(rows);
  const size_t stride = kv_element_bytes(type) * static_cast<size_t>(dim);
  for (int64_t i = 0; i < dim; ++i) out[i] = 0;
  for (int64_t p = 0; p < n; ++p)
    for (int64_t i = 0; i < dim; ++i) out[i] += w[p] * element(base + p * stride, type, i);
}

void store_kv_row_scalar(void* dst, DType type, const float* src, int64_t n) {
  if (type == DType::kF32) {
    std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(n));
    return;
  }
  auto* h = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = f32_to_f16(src[i]);
}

void load_kv_row_scalar(float* dst, const void* src, DType type, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = element(src, type, i);
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
