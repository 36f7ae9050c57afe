// Prompt-processing GEMM on Intel AMX (tile matrix multiply, bf16 in, f32 accumulate).
//
// y[t, o] = Σ_k x[t, k] · W[o, k] for many tokens at once. Weights of any stored type are
// dequantized in panels of 32 rows (up to four side by side per task, so each activation tile
// loaded serves up to 8 column tiles) into bf16, laid out as AMX's B tiles want (pairs of k
// interleaved per column); activations are rounded to bf16 once per call. Each TDPBF16PS
// does 16 × 16 × 32 multiply-adds, so the per-block scales of quantized types cost nothing in
// the inner loop (they are baked into the dequantized panel) and prompt processing becomes
// limited by dequantizing each weight once per 512-token chunk, not by the multiplies.
//
// Numerics: bf16 operands (8-bit mantissa) with f32 accumulation. The rounding of activations
// is of the same order as the int8 activations the decode kernels use; dequantized 4- and
// 8-bit weights round to bf16 at ~2^-9 relative, far below their quantization error.
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "tensor/tensor.h"

namespace limarp::kernels::amx {

// True when the CPU has AMX-BF16 and the OS granted this process the tile state
// (requested once, on first call).
bool available();

// Rows are multiplied in panels of this many; k in steps of kStepK.
constexpr int64_t kPanelRows = 32;
constexpr int64_t kStepK = 32;

// y[t * ldy + o] for t < T and every row o of w. Requires w.cols() % kStepK == 0.
void matmul_bf16(float* y, int64_t ldy, const float* x, int64_t T, const TensorView& w, ThreadPool& pool);

// The backward product, accumulated: dx[t * ldx + i] += Σ_o dy[t, o] · W[o, i] for t < T and
// every column i of w. The sum runs over W's rows, so B tiles are pairs of W's rows
// interleaved (no transpose); panels are 128 columns or one quantization block, whichever is
// wider, dequantized once per task. Requires w.rows() % kStepK == 0 and the stored layout.
void matmul_transposed_bf16(float* dx, int64_t ldx, const float* dy, int64_t T, const TensorView& w,
                            ThreadPool& pool);

}  // namespace limarp::kernels::amx
