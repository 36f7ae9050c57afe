#include "kernels/matmul.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>

#include "base/status.h"
#include "kernels/cpu/registry.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "kernels/weight_kernels.h"
#include "tensor/row_interleave.h"
#include "tensor/quantize.h"

namespace limarp::kernels {
namespace {

// Activations are handled in chunks of tokens so their prepared rows stay in cache while every
// row chunk of the weights streams past them once per chunk.
constexpr int64_t kTokenChunk = 64;
// Weight rows per task: small enough to balance two to a few dozen threads, large enough that
// scheduling costs nothing next to the row work; whole groups of the interleaved layouts and
// whole 6-row tiles of the AVX-512 float kernels.
constexpr int64_t kRowChunk = 3 * kInterleaveRows;
// Below this many multiply-adds a matmul runs on the calling thread: waking workers costs more
// than it saves (tiny models, small LoRA factors).
constexpr int64_t kMinParallelWork = int64_t{1} << 18;
// From this many tokens on, dequantizing each weight panel once for AMX beats the int8 tiles.
constexpr int64_t kAmxMinTokens = 32;
// The transposed product works on panels of dequantized weights: kPanelRows rows of a column
// chunk (64 KiB on the stack), reused across a tile of up to kTokenTile tokens, so each weight
// is dequantized once per token tile instead of once per token.
constexpr int64_t kPanelRows = 64;
constexpr int64_t kPanelCols = 256;
constexpr int64_t kTokenTile = 256;

// From this many tokens on, float weights (f32, f16, bf16) multiply through the gemm core over
// transposed panels of kGemmPanelRows weight rows: its register tiles reuse each loaded weight
// for 6 tokens, where the weight kernels reuse it for 4 (training_product/forward/f32).
constexpr int64_t kGemmMinTokens = 64;
constexpr int64_t kGemmPanelRows = 64;

// Up to this many tokens a matmul is streaming-bound (decoding, a speculative verification, a
// few server slots) and takes few_token_matmul.
constexpr int64_t kFewTokens = 4;
// At most this many shares of a few-token matmul's rows (stack arrays).
constexpr int kMaxShares = 64;

// Decoding's matmul. Every thread prepares the activation rows itself (duplicated work of a
// few microseconds) instead of idling while one thread does, then streams its own contiguous
// share of the rows in chunks of ~256 KiB, so its reads stay sequential for the prefetchers
// and the prefetches past a chunk's end are the next chunk's; a thread that finishes its share
// takes the remaining chunks of the others, so a core the machine slows down does not hold up
// the rest (bench: `limarp bench -n`, the decode-limit line).
void few_token_matmul(float* y, const float* x, const WeightKernel& k, const TensorView& w, int64_t T,
                      ThreadPool& pool) {
  const int64_t n_out = w.rows(), n = w.cols();
  const size_t ldx = k.prepared_bytes(n), ldw = w.row_stride();
  const int64_t chunk = std::max<int64_t>(kRowChunk, static_cast<int64_t>((256 << 10) / std::max<size_t>(ldw, 1)) / 16 * 16);
  const auto* wbase = static_cast<const uint8_t*>(w.data);
  // Share i: rows [cursor[i], end[i]), whole groups of 16 rows (the interleaved layouts'). On
  // the stack, as this runs a few hundred times per decoded token; past kMaxShares threads,
  // thread j starts on share j % kMaxShares.
  const int shares = std::min(pool.size(), kMaxShares);
  std::array<std::atomic<int64_t>, kMaxShares> cursor;
  std::array<int64_t, kMaxShares> end;
  const int64_t groups = (n_out + kInterleaveRows - 1) / kInterleaveRows;
  for (int i = 0; i < shares; ++i) {
    cursor[static_cast<size_t>(i)].store(std::min(n_out, groups * i / shares * kInterleaveRows));
    end[static_cast<size_t>(i)] = std::min(n_out, groups * (i + 1) / shares * kInterleaveRows);
  }
  pool.run([&](int thread, int) {
    auto* px = static_cast<uint8_t*>(pool.arena(thread).bytes(ScratchSlot::kMatmulActivations, ldx * static_cast<size_t>(T)));
    for (int64_t t = 0; t < T; ++t) k.prepare(x + t * n, n, px + t * ldx);
    for (int v = 0; v < shares; ++v) {
      const auto i = static_cast<size_t>((thread + v) % shares);
      for (int64_t r0; (r0 = cursor[i].fetch_add(chunk, std::memory_order_relaxed)) < end[i];) {
        const int64_t r1 = std::min(end[i], r0 + chunk);
        k.tile(y + r0, n_out, wbase + r0 * ldw, ldw, r1 - r0, px, ldx, T, n);
      }
    }
  });
}

// y = x · Wᵀ for float weights and many tokens: each task transposes kGemmPanelRows rows of W
// into its arena ([in, rows], converted to f32) and runs the gemm core over all tokens for
// those outputs.
void float_weight_gemm(float* y, const float* x, const TensorView& w, int64_t T, ThreadPool& pool) {
  const int64_t n_out = w.rows(), n = w.cols();
  const int64_t panels = (n_out + kGemmPanelRows - 1) / kGemmPanelRows;
  pool.parallel_for(T * n_out, kElementGrain, [&](int64_t b, int64_t e) {
    std::memset(y + b, 0, sizeof(float) * static_cast<size_t>(e - b));
  });
  pool.parallel_for_indexed(panels, 1, [&](int64_t begin, int64_t end, int thread) {
    ScratchArena& arena = pool.arena(thread);
    float* wt = arena.floats(ScratchSlot::kMatmulPanel, static_cast<size_t>(n * kGemmPanelRows));
    float* converted = arena.floats(ScratchSlot::kMatmulConverted, static_cast<size_t>(n * kGemmPanelRows));
    for (int64_t p = begin; p < end; ++p) {
      const int64_t o0 = p * kGemmPanelRows, rows = std::min(kGemmPanelRows, n_out - o0);
      const float* src = converted;
      int64_t lds = n;
      if (w.type == DType::kF32) {
        src = reinterpret_cast<const float*>(w.row(o0));
        lds = static_cast<int64_t>(w.row_stride() / sizeof(float));
      } else {
        for (int64_t j = 0; j < rows; ++j) dequantize_row(w.type, w.row(o0 + j), converted + j * n, n);
      }
      transpose_columns(wt, src, rows, lds, 0, n, 1.0f, false);
      gemm_accumulate(y + o0, n_out, {x, n, 1}, wt, rows, T, rows, n, 1.0f);
    }
  });
}

// dx += dy · W for many tokens: each task copies kGemmPanelRows columns of W, converted to f32,
// into a contiguous [out, columns] panel in its arena, and runs the gemm core over all tokens
// and all of W's rows for those columns, so A (dy) is read front to back and B stays in cache.
void column_panel_gemm(float* dx, const float* dy, const TensorView& w, int64_t T, ThreadPool& pool) {
  const int64_t n_out = w.rows(), n_in = w.cols();
  const DTypeTraits& traits = dtype_traits(w.type);
  const int64_t panels = (n_in + kGemmPanelRows - 1) / kGemmPanelRows;
  pool.parallel_for_indexed(panels, 1, [&](int64_t begin, int64_t end, int thread) {
    float* panel = pool.arena(thread).floats(ScratchSlot::kMatmulPanel, static_cast<size_t>(n_out * kGemmPanelRows));
    for (int64_t p = begin; p < end; ++p) {
      const int64_t c0 = p * kGemmPanelRows, cols = std::min(kGemmPanelRows, n_in - c0);
      const uint64_t byte_offset =
          static_cast<uint64_t>(c0 / traits.block_elems) * static_cast<uint64_t>(traits.block_bytes);
      for (int64_t o = 0; o < n_out; ++o)
        dequantize_row(w.type, w.row(o) + byte_offset, panel + o * cols, cols);
      gemm_accumulate(dx + c0, n_in, {dy, n_out, 1}, panel, cols, T, cols, n_out, 1.0f);
    }
  });
}

}  // namespace

void weight_row(float* out, const TensorView& w, int64_t r) {
  // The interleaved layouts are only made for projections, never for embeddings.
  LIMARP_CHECK(w.layout == RowLayout::kStored);
  dequantize_row(w.type, w.row(r), out, w.cols());
}

void matmul(float* y, const float* x, const TensorView& w, int64_t T, ThreadPool& pool, ProductPrecision precision) {
  const int64_t n_out = w.rows(), n = w.cols();
  // Many tokens against a big matrix: the active level's matrix engine (AMX tiles, when the CPU
  // has them and LIMARP_ISA does not cap the level below AVX-512). By default only for weights
  // no more precise than bf16: f32 and f16 weights keep exact f32 arithmetic.
  const MatrixEngine* engine = active_level().matrix_engine;
  const bool exact_weights = w.type == DType::kF32 || w.type == DType::kF16;
  if (T >= kAmxMinTokens && (precision == ProductPrecision::kBF16 || !exact_weights) && engine &&
      n % engine->k_step == 0 && n_out >= engine->min_rows && engine->available()) {
    engine->run(y, n_out, x, T, w, pool);
    return;
  }
  const bool float_weights = exact_weights || w.type == DType::kBF16;
  if (precision != ProductPrecision::kDefault && T >= kGemmMinTokens && float_weights &&
      n_out >= kGemmPanelRows && w.layout == RowLayout::kStored) {
    float_weight_gemm(y, x, w, T, pool);
    return;
  }
  const bool parallel = n_out * n * T >= kMinParallelWork;
  const WeightKernel* k = select_kernel(w.type, n, w.layout);
  LIMARP_CHECK(k != nullptr);
  LIMARP_CHECK(w.layout == RowLayout::kStored || n_out % kInterleaveRows == 0);
  if (parallel && T <= kFewTokens && pool.size() > 1) {
    few_token_matmul(y, x, *k, w, T, pool);
    return;
  }
  const size_t ldx = k->prepared_bytes(n);
  auto* px = static_cast<uint8_t*>(pool.arena(0).bytes(ScratchSlot::kMatmulActivations, ldx * static_cast<size_t>(T)));
  auto prepare = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) k->prepare(x + t * n, n, px + t * ldx);
  };
  if (parallel && T > 1) pool.parallel_for(T, 4, prepare);
  else prepare(0, T);
  const size_t ldw = w.row_stride();
  const auto* wbase = static_cast<const uint8_t*>(w.data);
  for (int64_t t0 = 0; t0 < T; t0 += kTokenChunk) {
    const int64_t tb = std::min(kTokenChunk, T - t0);
    auto rows = [&](int64_t r0, int64_t r1) {
      k->tile(y + t0 * n_out + r0, n_out, wbase + r0 * ldw, ldw, r1 - r0, px + t0 * ldx, ldx, tb, n);
    };
    if (parallel) pool.parallel_for(n_out, kRowChunk, rows);
    else rows(0, n_out);
  }
}

void matmul_transposed_accumulate(float* dx, const float* dy, const TensorView& w, int64_t T, ThreadPool& pool,
                                  ProductPrecision precision) {
  const int64_t n_out = w.rows(), n_in = w.cols();
  // Training keeps weights in their stored layout; the interleaved ones are for inference only.
  LIMARP_CHECK(w.layout == RowLayout::kStored);
  const MatrixEngine* engine = active_level().matrix_engine;
  if (precision == ProductPrecision::kBF16 && T >= kAmxMinTokens && engine && n_out % engine->k_step == 0 &&
      engine->available()) {
    engine->run_transposed(dx, n_in, dy, T, w, pool);
    return;
  }
  const DTypeTraits& traits = dtype_traits(w.type);
  const int64_t block = traits.block_elems;
  if (T >= kGemmMinTokens && kGemmPanelRows % block == 0 && n_in >= kGemmPanelRows) {
    column_panel_gemm(dx, dy, w, T, pool);
    return;
  }
  // Column chunks hold whole quantization blocks, so a chunk of a row dequantizes on its own.
  const int64_t chunk = std::max(block, (kPanelCols / block) * block);
  LIMARP_CHECK(chunk <= kPanelCols);
  const int64_t col_tiles = (n_in + chunk - 1) / chunk;
  const int64_t tok_tiles = (T + kTokenTile - 1) / kTokenTile;
  const auto* wbase = static_cast<const uint8_t*>(w.data);
  const uint64_t ldw = w.row_stride();
  auto body = [&](int64_t begin, int64_t end) {
    // Dequantized rows [o0, o0 + kPanelRows) x columns [c0, c1), reused by every token of the task.
    alignas(64) float panel[kPanelRows * kPanelCols];
    for (int64_t task = begin; task < end; ++task) {
      const int64_t c0 = (task % col_tiles) * chunk, c1 = std::min(n_in, c0 + chunk);
      const int64_t t0 = (task / col_tiles) * kTokenTile, t1 = std::min(T, t0 + kTokenTile);
      const uint64_t byte_offset = static_cast<uint64_t>(c0 / block) * static_cast<uint64_t>(traits.block_bytes);
      for (int64_t o0 = 0; o0 < n_out; o0 += kPanelRows) {
        const int64_t rows = std::min(kPanelRows, n_out - o0);
        const float* b;
        int64_t ldb;
        if (w.type == DType::kF32) {
          b = reinterpret_cast<const float*>(wbase + o0 * ldw) + c0;
          ldb = n_in;
        } else {
          for (int64_t r = 0; r < rows; ++r)
            dequantize_row(w.type, wbase + (o0 + r) * ldw + byte_offset, panel + r * chunk, c1 - c0);
          b = panel;
          ldb = chunk;
        }
        gemm_accumulate(dx + t0 * n_in + c0, n_in, {dy + t0 * n_out + o0, n_out, 1}, b, ldb, t1 - t0, c1 - c0, rows,
                        1.0f);
      }
    }
  };
  if (T * n_in * n_out < kMinParallelWork) body(0, col_tiles * tok_tiles);
  else pool.parallel_for(col_tiles * tok_tiles, 1, body);
}

}  // namespace limarp::kernels
