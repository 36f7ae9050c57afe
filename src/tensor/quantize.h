// Reference (scalar) conversion between float rows and every stored element type.
// These are the ground truth the SIMD kernels are tested against; they favour clarity.
#pragma once

#include <cstdint>
#include <span>

#include "base/status.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace limarp {

// True when dequantize_row handles the type.
bool can_dequantize(DType type);
// True when quantize_row can produce the type.
bool can_quantize(DType type);

// dst[0..n) = values of one stored row. n must be a whole number of blocks.
void dequantize_row(DType type, const void* src, float* dst, int64_t n);
// One stored row from n floats.
void quantize_row(DType type, const float* src, void* dst, int64_t n);

// Whole-tensor helpers (row by row).
Result<Tensor> dequantize(const TensorView& view);
Result<Tensor> quantize(const float* src, const Shape& shape, DType type);
// Converts any tensor to `type` through float (exact copy when the type is unchanged).
Result<Tensor> convert_tensor(const TensorView& view, DType type);

}  // namespace limarp
