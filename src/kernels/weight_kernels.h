// Kernels that multiply stored weights (any type) with activations, per instruction-set level.
//
// A kernel first *prepares* each activation row in the layout it wants (integer kernels
// quantize x to int8 blocks of act_block elements, 32 or, for the x86 K-quant kernels, 256, with
// per-block scale and sum; float kernels keep f32, possibly reordered), then computes tiles of
// dot products straight from the weights' stored blocks: y[t * ldy + r] = dot(W[r], x_t). Every
// optimized kernel has a scalar twin computing the same math (same activation quantization)
// that the tests compare it with.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/cpu_features.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace limarp::kernels {

struct WeightKernel {
  const char* name;  // "q4_0/avx512"
  DType type;
  Isa isa;
  // The kernel runs only when a row's length is a multiple of this.
  int64_t n_multiple;
  // Bytes of one prepared activation row of n elements (a multiple of 64, for alignment).
  size_t (*prepared_bytes)(int64_t n);
  void (*prepare)(const float* x, int64_t n, uint8_t* out);
  // y[t * ldy + r] = W[r] · x_t for r < rows, t < tokens; w is row 0, rows are ldw bytes apart;
  // prepared rows are ldx bytes apart.
  void (*tile)(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
               int64_t tokens, int64_t n);
  // Integer kernels: elements per activation scale (kernels/activation_quant.h). A type's levels
  // may differ here; a kernel's scalar twin is the one with the same value.
  int act_block = 32;
  // The weight rows' layout the kernel reads (tensor/row_interleave.h for the regrouped one).
  RowLayout layout = RowLayout::kStored;
};

// The best kernel for a weight type at `isa` or below (in its family, cpu/registry.h) that
// accepts rows of n; never null for types the scalar level supports (all types dequantize_row
// supports). isa must be runnable here; without it, the active level.
const WeightKernel* select_kernel(DType type, int64_t n, Isa isa, RowLayout layout = RowLayout::kStored);
const WeightKernel* select_kernel(DType type, int64_t n, RowLayout layout = RowLayout::kStored);

// The kernel for exactly this type and level, or null (also when the level is not runnable
// here). Tests enumerate twins with it.
const WeightKernel* find_kernel(DType type, Isa isa, RowLayout layout = RowLayout::kStored);

// The scalar kernel computing the same math as k: of k's type, layout and act_block; null if none.
const WeightKernel* find_twin(const WeightKernel& k);

// The scalar level's table (cpu/generic); the other levels' tables are reached through
// cpu/registry.h.
const WeightKernel* scalar_kernels(size_t* count);

}  // namespace limarp::kernels
