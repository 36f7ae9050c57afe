#include "kernels/matmul.h"

#include <algorithm>
#include <vector>

#include "base/status.h"
#include "kernels/amx/amx_gemm.h"
#include "kernels/ops.h"
#include "kernels/weight_kernels.h"
#include "tensor/quantize.h"

namespace limarp::kernels {
namespace {

// Activations are handled in chunks of tokens so their prepared rows stay in cache while every
// row chunk of the weights streams past them once per chunk.
constexpr int64_t kTokenChunk = 64;
// Weight rows per task: small enough to balance two to a few dozen threads, large enough that
// scheduling costs nothing next to the row work.
constexpr int64_t kRowChunk = 16;
// Below this many multiply-adds a matmul runs on the calling thread: waking workers costs more
// than it saves (tiny models, small LoRA factors).
constexpr int64_t kMinParallelWork = int64_t{1} << 18;
// From this many tokens on, dequantizing each weight panel once for AMX beats the int8 tiles.
constexpr int64_t kAmxMinTokens = 32;

}  // namespace

void weight_row(float* out, const TensorView& w, int64_t r) { dequantize_row(w.type, w.row(r), out, w.cols()); }

void matmul(float* y, const float* x, const TensorView& w, int64_t T, ThreadPool& pool) {
  const int64_t n_out = w.rows(), n = w.cols();
  // Many tokens against a big matrix: AMX tiles, when the CPU has them (and LIMARP_ISA does
  // not cap the level below AVX-512). Only for weights no more precise than bf16: f32 and f16
  // weights keep exact f32 arithmetic.
  if (T >= kAmxMinTokens && w.type != DType::kF32 && w.type != DType::kF16 && n % amx::kStepK == 0 &&
      n_out >= amx::kPanelRows && active_isa() == Isa::kAvx512 && amx::available()) {
    amx::matmul_bf16(y, n_out, x, T, w, pool);
    return;
  }
  const bool parallel = n_out * n * T >= kMinParallelWork;
  const WeightKernel* k = select_kernel(w.type, n);
  LIMARP_CHECK(k != nullptr);
  const size_t ldx = k->prepared_bytes(n);
  AlignedBuffer prepared = allocate_aligned_uninitialized(ldx * static_cast<size_t>(T));
  uint8_t* px = prepared.get();
  auto prepare = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) k->prepare(x + t * n, n, px + t * ldx);
  };
  if (parallel && T > 1) pool.parallel_for(T, 4, prepare);
  else prepare(0, T);
  const size_t ldw = w.row_stride();
  // Decoding streams weights from memory: chunks of ~64 KiB keep each core's reads sequential
  // for its prefetchers while leaving enough chunks to balance uneven cores.
  const int64_t row_chunk = T <= 4 ? std::max<int64_t>(kRowChunk, static_cast<int64_t>((256 << 10) / std::max<size_t>(ldw, 1)) / 4 * 4)
                                   : kRowChunk;
  const auto* wbase = static_cast<const uint8_t*>(w.data);
  for (int64_t t0 = 0; t0 < T; t0 += kTokenChunk) {
    const int64_t tb = std::min(kTokenChunk, T - t0);
    auto rows = [&](int64_t r0, int64_t r1) {
      k->tile(y + t0 * n_out + r0, n_out, wbase + r0 * ldw, ldw, r1 - r0, px + t0 * ldx, ldx, tb, n);
    };
    if (parallel) pool.parallel_for(n_out, row_chunk, rows);
    else rows(0, n_out);
  }
}

void matmul_transposed_accumulate(float* dx, const float* dy, const TensorView& w, int64_t T, ThreadPool& pool) {
  const int64_t n_out = w.rows(), n_in = w.cols();
  // Parallel over tokens so each dx row has one writer; rows of W are visited in order.
  pool.parallel_for(T, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(n_in));
    for (int64_t o = 0; o < n_out; ++o) {
      dequantize_row(w.type, w.row(o), row.data(), n_in);
      for (int64_t t = begin; t < end; ++t) axpy(dx + t * n_in, dy[t * n_out + o], row.data(), n_in);
    }
  });
}

}  // namespace limarp::kernels
