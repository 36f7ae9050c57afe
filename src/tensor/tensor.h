// Tensor views (non-owning: weights inside a mapped file) and owning tensors (activations,
// converted weights). Shapes are written outermost first, as in PyTorch: a weight matrix is
// [out_features, in_features] and its rows are contiguous, quantized along the row.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tensor/dtype.h"

namespace limarp {

using Shape = std::vector<int64_t>;

int64_t shape_elements(const Shape& shape);
std::string shape_string(const Shape& shape);  // "[4096, 11008]"

// How a matrix's rows lie in memory: as stored in files, or regrouped 16 rows at a time for the
// CPU kernels (tensor/row_interleave.h; only in memory, only for Q4_0, Q8_0, Q4_K and Q6_K).
enum class RowLayout : uint8_t { kStored, kInterleaved16 };

struct TensorView {
  DType type = DType::kF32;
  Shape shape;
  const void* data = nullptr;
  uint64_t nbytes = 0;
  RowLayout layout = RowLayout::kStored;

  int64_t elements() const { return shape_elements(shape); }
  int64_t rows() const;  // product of all but the last dimension
  int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
  uint64_t row_stride() const;  // bytes per row
  const uint8_t* row(int64_t r) const { return static_cast<const uint8_t*>(data) + r * row_stride(); }
  const float* f32() const { return static_cast<const float*>(data); }  // for a kF32 view
  bool valid() const { return data != nullptr; }
};

// 64-byte aligned heap buffer, for SIMD loads and cache lines.
struct AlignedDeleter {
  void operator()(void* p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<uint8_t[], AlignedDeleter>;
AlignedBuffer allocate_aligned(size_t bytes);                // zero-filled
AlignedBuffer allocate_aligned_uninitialized(size_t bytes);  // for buffers written before read

class Tensor {
 public:
  Tensor() = default;
  Tensor(DType type, Shape shape);  // zero-filled
  static Tensor zeros_f32(Shape shape) { return Tensor(DType::kF32, std::move(shape)); }

  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;
  Tensor clone() const;  // explicit, named copy

  DType type() const { return type_; }
  const Shape& shape() const { return shape_; }
  int64_t elements() const { return shape_elements(shape_); }
  uint64_t nbytes() const { return nbytes_; }
  uint8_t* bytes() { return buffer_.get(); }
  const uint8_t* bytes() const { return buffer_.get(); }
  float* f32() { return reinterpret_cast<float*>(buffer_.get()); }
  const float* f32() const { return reinterpret_cast<const float*>(buffer_.get()); }
  std::span<float> f32_span() { return {f32(), static_cast<size_t>(elements())}; }
  TensorView view() const { return TensorView{type_, shape_, buffer_.get(), nbytes_}; }
  bool empty() const { return nbytes_ == 0; }

 private:
  DType type_ = DType::kF32;
  Shape shape_;
  uint64_t nbytes_ = 0;
  AlignedBuffer buffer_;
};

}  // namespace limarp
