// Matrix products against stored weights of any type: y = x · Wᵀ, with W [out, in] in its
// file type (f32, f16, bf16, q8_0, q4_0, k-quants, nf4), x [T, in] in f32.
// Each output element is computed by one thread in a fixed order, so results do not depend
// on the thread count.
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "tensor/tensor.h"

namespace limarp::kernels {

// How many-token products may compute.
//   kDefault  inference: f32 and f16 weights multiply in exact f32 arithmetic, each token's
//             result the same bits whatever its batch mates (the server's seeded replies rely
//             on it); quantized weights take the matrix engine (bf16 operands) for prompts,
//             where their own error dwarfs bf16's; the transposed product is f32.
//   kF32      training in f32: as kDefault, but in the forward product float weights (f32,
//             f16, bf16) with 64 or more tokens go through the gemm core, whose order of
//             additions differs from the per-token kernels' (faster: training_product/forward/f32).
//   kBF16     mixed precision, as autocast: where the CPU has a matrix engine (AMX), both
//             products with 32 or more tokens round both operands to bf16 (f32 sums) for
//             weights of every type. Elsewhere the same as kF32.
enum class ProductPrecision { kDefault, kF32, kBF16 };

// y[t, o] = sum_i x[t, i] * W[o, i]   for t < T, o < W.rows()
void matmul(float* y, const float* x, const TensorView& w, int64_t T, ThreadPool& pool,
            ProductPrecision precision = ProductPrecision::kDefault);

// The transposed product, for backward passes: dx[t, i] += sum_o dy[t, o] * W[o, i], dy [T, out],
// dx [T, in]. From 64 tokens on, W is copied 64 columns at a time (types whose blocks divide
// 64) into f32 panels, each multiplied with all tokens by the gemm core; otherwise panels of W
// are dequantized once per tile of tokens. Parallel over panels or tiles of dx. (kDefault and
// kF32 are the same here; kBF16 takes the matrix engine where there is one.)
void matmul_transposed_accumulate(float* dx, const float* dy, const TensorView& w, int64_t T, ThreadPool& pool,
                                  ProductPrecision precision = ProductPrecision::kDefault);

// Row r of W as floats (embedding lookup).
void weight_row(float* out, const TensorView& w, int64_t r);

}  // namespace limarp::kernels
