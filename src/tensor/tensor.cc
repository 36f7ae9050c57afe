#include "tensor/tensor.h"

#include <fmt/format.h>

#include <new>

#include "base/status.h"

namespace limarp {

int64_t shape_elements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

int64_t TensorView::rows() const {
  int64_t r = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) r *= shape[i];
  return r;
}

uint64_t TensorView::row_stride() const { return row_bytes(type, cols()).value_or(0); }

AlignedBuffer allocate_aligned_uninitialized(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw std::bad_alloc();
  return AlignedBuffer(static_cast<uint8_t*>(p));
}

AlignedBuffer allocate_aligned(size_t bytes) {
  AlignedBuffer b = allocate_aligned_uninitialized(bytes);
  std::memset(b.get(), 0, (bytes + 63) / 64 * 64 == 0 ? 64 : (bytes + 63) / 64 * 64);
  return b;
}

Tensor::Tensor(DType type, Shape shape) : type_(type), shape_(std::move(shape)) {
  int64_t cols = shape_.empty() ? 1 : shape_.back();
  int64_t rows = shape_elements(shape_) / (cols == 0 ? 1 : cols);
  auto rb = row_bytes(type_, cols);
  LIMARP_CHECK(rb.has_value());
  nbytes_ = *rb * static_cast<uint64_t>(rows);
  buffer_ = allocate_aligned(nbytes_);
}

Tensor Tensor::clone() const {
  Tensor t(type_, shape_);
  if (nbytes_) std::memcpy(t.bytes(), bytes(), nbytes_);
  return t;
}

}  // namespace limarp
