#include "kernels/cpu/x86/amx/amx_gemm.h"

#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

#include "base/status.h"
#include "kernels/cpu/x86/avx512/kernels_avx512.h"
#include "kernels/cpu/cpu_features.h"
#include "tensor/row_interleave.h"
#include "tensor/quantize.h"

namespace limarp::kernels::amx {
namespace {

constexpr long kArchReqXcompPerm = 0x1023;
constexpr long kXfeatureXtiledata = 18;

struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Tiles 0-1: A (16 tokens × 32 bf16), 2-3: B (16 k-pairs × 16 outputs × 2), 4-7: C (16 × 16 f32).
TileConfig make_config() {
  TileConfig c;
  for (int t = 0; t < 8; ++t) {
    c.colsb[t] = 64;
    c.rows[t] = 16;
  }
  return c;
}

inline uint16_t to_bf16(float f) {
  // Round to nearest even, as the reference conversion does; NaN stays NaN.
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40);
  x += 0x7fffu + ((x >> 16) & 1);
  return static_cast<uint16_t>(x >> 16);
}

// 16 rows of 32 floats (k) as bf16 pairs, transposed so row kk holds, for each of the 16
// weight rows n, the pair (k = 2kk, 2kk + 1): the layout AMX's B tile multiplies.
inline void pack_tile(uint16_t* tile, const float* rows, int64_t K) {
  __m512i m[16];
  for (int n = 0; n < 16; ++n) {
    const float* r = rows + n * K;
    m[n] = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(_mm512_loadu_ps(r + 16), _mm512_loadu_ps(r)));
  }
  // 16 x 16 transpose of 32-bit elements: four rounds of pairwise interleaves.
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(m[i], m[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(m[i], m[i + 1]);
  }
  for (int i = 0; i < 16; i += 4)
    for (int k = 0; k < 2; ++k) {
      m[i + k] = _mm512_unpacklo_epi64(t[i + k], t[i + k + 2]);
      m[i + k + 2] = _mm512_unpackhi_epi64(t[i + k], t[i + k + 2]);
    }
  // Now within each 128-bit lane the 4x4 blocks are transposed; move the lanes.
  const __m512i lo_idx = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
  const __m512i hi_idx = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_permutex2var_epi64(m[i], lo_idx, m[i + 4]);
    t[i + 4] = _mm512_permutex2var_epi64(m[i], hi_idx, m[i + 4]);
    t[i + 8] = _mm512_permutex2var_epi64(m[i + 8], lo_idx, m[i + 12]);
    t[i + 12] = _mm512_permutex2var_epi64(m[i + 8], hi_idx, m[i + 12]);
  }
  const __m512i lo2 = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
  const __m512i hi2 = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
  for (int i = 0; i < 8; ++i) {
    m[i] = _mm512_permutex2var_epi64(t[i], lo2, t[i + 8]);
    m[i + 8] = _mm512_permutex2var_epi64(t[i], hi2, t[i + 8]);
  }
  // m[r] now holds row r of the transpose in the order produced by the rounds above.
  static constexpr int kOrder[16] = {0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15};
  for (int kk = 0; kk < 16; ++kk) _mm512_storeu_si512(tile + kk * 32, m[kOrder[kk]]);
}

// The interleaved layouts already hold one weight row per 32-bit lane, as a B tile's columns
// are: each block column of a 16-row group (32 k values, one k-step) becomes one tile without
// a transpose. Tile row kk holds k = 2kk, 2kk + 1, which are bytes 2c, 2c + 1 of each lane of
// one code vector (Q4_0: low nibbles for kk < 8, high nibbles after).
void pack_group_interleaved(uint16_t* panel, int64_t tiles, int64_t j, const uint8_t* group, int64_t steps, DType type) {
  const bool q4 = type == DType::kQ4_0;
  const int64_t column = static_cast<int64_t>(interleaved_column_bytes(type));
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  const __m512 offset = _mm512_set1_ps(q4 ? 8.0f : 0.0f);
  // Scales for values 0..15 (rows 0..7, two values each) and 16..31 (rows 8..15).
  const __m512i rows_lo = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
  const __m512i rows_hi = _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
  for (int64_t s = 0; s < steps; ++s) {
    const uint8_t* col = group + s * column;
    uint16_t* tile = panel + (s * tiles + j) * 512;
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(col)));
    const __m512 d_lo = _mm512_permutexvar_ps(rows_lo, d), d_hi = _mm512_permutexvar_ps(rows_hi, d);
    auto values = [&](__m128i bytes, __m512 scale) {
      const __m512i v = q4 ? _mm512_cvtepu8_epi32(bytes) : _mm512_cvtepi8_epi32(bytes);
      return _mm512_mul_ps(_mm512_sub_ps(_mm512_cvtepi32_ps(v), offset), scale);
    };
    auto emit = [&](int64_t kk, __m512i codes, int c) {
      const __m256i pairs = _mm512_cvtepi32_epi16(_mm512_srli_epi32(codes, 16 * c));
      const __m512 lo = values(_mm256_castsi256_si128(pairs), d_lo);
      const __m512 hi = values(_mm256_extracti128_si256(pairs, 1), d_hi);
      _mm512_storeu_si512(tile + kk * 32, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo)));
    };
    for (int q = 0; q < (q4 ? 4 : 8); ++q) {
      const __m512i v = _mm512_loadu_si512(col + 32 + 64 * q);
      for (int c = 0; c < 2; ++c) {
        if (q4) {
          emit(2 * q + c, _mm512_and_si512(v, m4), c);
          emit(8 + 2 * q + c, _mm512_and_si512(_mm512_srli_epi16(v, 4), m4), c);
        } else {
          emit(2 * q + c, v, c);
        }
      }
    }
  }
}

// Rows [o0, o0 + 32) of w as B tiles j0 and j0 + 1 of a panel `tiles` wide: for k-step s and
// column tile j, 16 rows (k pairs) of 16 columns × 2 bf16 at panel + (s · tiles + j) · 512.
// Rows past the matrix are zero.
// row: scratch for one stored row (interleaved layouts other than Q4_0/Q8_0).
void pack_panel(uint16_t* panel, int64_t tiles, int64_t j0, float* rowbuf, uint8_t* row, const TensorView& w,
                int64_t o0) {
  const int64_t K = w.cols(), rows = w.rows();
  const bool interleaved = w.layout == RowLayout::kInterleaved16;
  if (interleaved && (w.type == DType::kQ4_0 || w.type == DType::kQ8_0)) {
    static_assert(kStepK == 32 && kPanelRows == 2 * kInterleaveRows);
    for (int64_t j = 0; j < 2; ++j) {
      const int64_t r0 = o0 + j * kInterleaveRows;
      if (r0 < rows) {
        pack_group_interleaved(panel, tiles, j0 + j, w.row(r0), K / kStepK, w.type);
      } else {
        for (int64_t s = 0; s < K / kStepK; ++s) std::memset(panel + (s * tiles + j0 + j) * 512, 0, 1024);
      }
    }
    return;
  }
  // Whole panels of f32 rows are read where they lie (training's f32 weights, bf16 products).
  const DType type = w.type;
  if (type == DType::kF32 && !interleaved && o0 + kPanelRows <= rows &&
      w.row_stride() == static_cast<uint64_t>(K) * sizeof(float)) {
    const auto* f = reinterpret_cast<const float*>(w.row(o0));
    for (int64_t s = 0; s < K / kStepK; ++s)
      for (int64_t j = 0; j < 2; ++j) pack_tile(panel + (s * tiles + j0 + j) * 512, f + j * 16 * K + s * kStepK, K);
    return;
  }
  // Other interleaved layouts (Q4_K, whose sub-block scales differ per row) go back to stored
  // rows first.
  for (int64_t r = 0; r < kPanelRows; ++r) {
    float* f = rowbuf + r * K;
    if (o0 + r >= rows) {
      std::memset(f, 0, sizeof(float) * static_cast<size_t>(K));
      continue;
    }
    const void* src = w.row(o0 + r);
    if (interleaved) {
      deinterleave_row(w.type, static_cast<const uint8_t*>(w.data), o0 + r, K, row);
      src = row;
    }
    if (!avx512::dequantize_row(type, src, f, K)) dequantize_row(type, src, f, K);
  }
  for (int64_t s = 0; s < K / kStepK; ++s)
    for (int64_t j = 0; j < 2; ++j)
      pack_tile(panel + (s * tiles + j0 + j) * 512, rowbuf + j * 16 * K + s * kStepK, K);
}

// Rows [o0, o0 + 32) of W's transpose, i.e. columns [c0, c0 + width) of W, as B tiles for
// the backward product: the sum runs over W's rows, so tile row kk of k-step s holds, for
// each column n, the pair (W[32s + 2kk, n], W[32s + 2kk + 1, n]) — two rows of W interleaved,
// no transpose. width = column_width(w) columns (whole quantization blocks, so each row's
// slice dequantizes on its own); columns past the matrix are zero. pair: 2 × width floats.
void pack_column_panel(uint16_t* panel, float* pair, const TensorView& w, int64_t c0, int64_t width) {
  const int64_t rows = w.rows(), cols = w.cols(), tiles = width / 16;
  const int64_t valid = std::min(width, cols - c0);
  const DTypeTraits& traits = dtype_traits(w.type);
  const uint64_t offset = static_cast<uint64_t>(c0 / traits.block_elems) * static_cast<uint64_t>(traits.block_bytes);
  // out[2n] = lo[n], out[2n + 1] = hi[n] for the bf16 vector cvtne2ps_pbh(hi, lo) makes.
  alignas(64) static constexpr int16_t kZip[32] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
                                                   8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i zip = _mm512_load_si512(kZip);
  auto strip = [&](int64_t r, float* buf) -> const float* {
    const auto* src = static_cast<const uint8_t*>(w.row(r)) + offset;
    if (w.type == DType::kF32 && valid == width) return reinterpret_cast<const float*>(src);
    if (valid < width) std::memset(buf + valid, 0, sizeof(float) * static_cast<size_t>(width - valid));
    if (!avx512::dequantize_row(w.type, src, buf, valid)) dequantize_row(w.type, src, buf, valid);
    return buf;
  };
  for (int64_t r = 0; r < rows; r += 2) {
    const float* lo = strip(r, pair);
    const float* hi = strip(r + 1, pair + width);
    const int64_t s = r / kStepK, kk = (r % kStepK) / 2;
    for (int64_t j = 0; j < tiles; ++j) {
      const __m512i v = reinterpret_cast<__m512i>(
          _mm512_cvtne2ps_pbh(_mm512_loadu_ps(hi + 16 * j), _mm512_loadu_ps(lo + 16 * j)));
      _mm512_storeu_si512(panel + (s * tiles + j) * 512 + kk * 32, _mm512_permutexvar_epi16(zip, v));
    }
  }
}

// x [T, K] in bf16, packed tile by tile: for each block of 16 tokens and k-step s, one
// contiguous 16 × 32 tile (1 KiB), so every A tile load streams from consecutive lines.
// Padded with zero rows to whole pairs of A tiles. Lives in the calling thread's arena.
const uint16_t* pack_activations(const float* x, int64_t T, int64_t K, ThreadPool& pool) {
  const int64_t Tp = (T + 31) / 32 * 32, steps = K / kStepK;
  auto* xb = static_cast<uint16_t*>(
      pool.arena(0).bytes(ScratchSlot::kMatrixEngineInput, sizeof(uint16_t) * static_cast<size_t>(Tp * K)));
  // The padding rows of the last block must read as zero.
  std::memset(xb + (T / 16) * 16 * K, 0, sizeof(uint16_t) * static_cast<size_t>((Tp - T / 16 * 16) * K));
  pool.parallel_for(T, 8, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      uint16_t* base = xb + (t / 16) * 16 * K + (t % 16) * kStepK;
      for (int64_t s = 0; s < steps; ++s) {
        const __m512i v = reinterpret_cast<__m512i>(
            _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + t * K + s * kStepK + 16), _mm512_loadu_ps(x + t * K + s * kStepK)));
        _mm512_storeu_si512(base + s * 16 * kStepK, v);
      }
    }
  });
  return xb;
}

// Tokens [t0, t1) (t0 a multiple of 32) of the packed activations against a panel of `tiles`
// column tiles (an even number): emit(token, column, c) for each 16 × 16 block of results
// (c row-major, 16 tokens × 16 columns; rows past the tokens hold zeros).
template <class Emit>
void multiply_panel(const uint16_t* xb, int64_t K, int64_t t0, int64_t t1, const uint16_t* panel, int64_t tiles,
                    Emit&& emit) {
  const int64_t steps = K / kStepK;
  alignas(64) float c[4][16 * 16];
  for (int64_t t = t0; t < t1; t += 32) {
    const uint16_t* a0 = xb + t * K;         // tokens t .. t + 15
    const uint16_t* a1 = xb + (t + 16) * K;  // tokens t + 16 .. t + 31
    for (int64_t j = 0; j < tiles; j += 2) {
      _tile_zero(4);
      _tile_zero(5);
      _tile_zero(6);
      _tile_zero(7);
      for (int64_t s = 0; s < steps; ++s) {
        _tile_loadd(0, a0 + s * 16 * kStepK, 64);
        _tile_loadd(1, a1 + s * 16 * kStepK, 64);
        _tile_loadd(2, panel + (s * tiles + j) * 512, 64);
        _tile_loadd(3, panel + (s * tiles + j + 1) * 512, 64);
        _tile_dpbf16ps(4, 0, 2);
        _tile_dpbf16ps(5, 0, 3);
        _tile_dpbf16ps(6, 1, 2);
        _tile_dpbf16ps(7, 1, 3);
      }
      _tile_stored(4, c[0], 64);
      _tile_stored(5, c[1], 64);
      _tile_stored(6, c[2], 64);
      _tile_stored(7, c[3], 64);
      for (int q = 0; q < 4; ++q) emit(t + (q / 2) * 16, (j + q % 2) * 16, c[q]);
    }
  }
}

// Panels of the forward product: up to this many 32-row panels side by side per task.
constexpr int64_t kMaxSubPanels = 4;

// Columns per panel of the backward product: whole quantization blocks, at least 8 column
// tiles, so each block of activation tiles loaded serves that many.
int64_t column_width(DType type) { return std::max<int64_t>(4 * kStepK, dtype_traits(type).block_elems); }

}  // namespace

bool available() {
  static const bool ok = [] {
    const CpuFeatures& f = cpu_features();
    if (!f.amx_tile || !f.amx_bf16) return false;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return ok;
}

void matmul_bf16(float* y, int64_t ldy, const float* x, int64_t T, const TensorView& w, ThreadPool& pool) {
  const int64_t K = w.cols(), O = w.rows();
  const int64_t Tp = (T + 31) / 32 * 32;
  const uint16_t* xb = pack_activations(x, T, K, pool);
  // Each task packs `sub` panels of 32 rows side by side, so every block of activation tiles
  // loaded serves 2 · sub column tiles while it is in cache; fewer for short matrices, so
  // every thread still gets a few tasks.
  const int64_t sub = std::clamp<int64_t>(O / (kPanelRows * 2 * pool.size()), 1, kMaxSubPanels);
  const int64_t rows_per_task = sub * kPanelRows;
  const int64_t tasks = (O + rows_per_task - 1) / rows_per_task;
  std::atomic<int64_t> next{0};
  pool.run([&](int thread, int) {
    const TileConfig config = make_config();
    _tile_loadconfig(&config);
    ScratchArena& arena = pool.arena(thread);
    float* rowbuf = arena.floats(ScratchSlot::kMatrixEngineRows, static_cast<size_t>(kPanelRows * K));
    auto* panel = static_cast<uint16_t*>(
        arena.bytes(ScratchSlot::kMatrixEnginePanel, sizeof(uint16_t) * static_cast<size_t>(rows_per_task * K)));
    auto* row = static_cast<uint8_t*>(arena.bytes(ScratchSlot::kMatrixEngineRow, w.row_stride()));
    for (int64_t task = next.fetch_add(1); task < tasks; task = next.fetch_add(1)) {
      const int64_t o0 = task * rows_per_task;
      const int64_t panels = std::min(sub, (O - o0 + kPanelRows - 1) / kPanelRows);
      for (int64_t p = 0; p < panels; ++p) pack_panel(panel, 2 * panels, 2 * p, rowbuf, row, w, o0 + p * kPanelRows);
      multiply_panel(xb, K, 0, Tp, panel, 2 * panels, [&](int64_t tb, int64_t col, const float* c) {
        const int64_t ob = o0 + col;
        for (int64_t i = 0; i < 16 && tb + i < T; ++i)
          for (int64_t n = 0; n < 16 && ob + n < O; ++n) y[(tb + i) * ldy + ob + n] = c[i * 16 + n];
      });
    }
    _tile_release();
  });
}

void matmul_transposed_bf16(float* dx, int64_t ldx, const float* dy, int64_t T, const TensorView& w,
                            ThreadPool& pool) {
  const int64_t O = w.rows(), I = w.cols();
  LIMARP_CHECK(O % kStepK == 0 && w.layout == RowLayout::kStored);
  const int64_t width = column_width(w.type);
  LIMARP_CHECK(width % 32 == 0 && width % dtype_traits(w.type).block_elems == 0);
  const uint16_t* dyb = pack_activations(dy, T, O, pool);
  // Tasks are (column panel, token range). Few panels (wide quantization blocks, narrow
  // matrices) are split across token ranges too, so every thread gets work; each task packs
  // its own panel.
  const int64_t panels = (I + width - 1) / width, blocks = (T + 31) / 32;
  const int64_t ranges = std::clamp<int64_t>((4 * pool.size() + panels - 1) / panels, 1, blocks);
  const int64_t tasks = panels * ranges;
  std::atomic<int64_t> next{0};
  pool.run([&](int thread, int) {
    const TileConfig config = make_config();
    _tile_loadconfig(&config);
    ScratchArena& arena = pool.arena(thread);
    auto* panel = static_cast<uint16_t*>(
        arena.bytes(ScratchSlot::kMatrixEnginePanel, sizeof(uint16_t) * static_cast<size_t>(O * width)));
    float* pair = arena.floats(ScratchSlot::kMatrixEngineRows, static_cast<size_t>(2 * width));
    int64_t packed = -1;
    for (int64_t task = next.fetch_add(1); task < tasks; task = next.fetch_add(1)) {
      const int64_t p = task / ranges, r = task % ranges;
      const int64_t c0 = p * width;
      if (p != packed) pack_column_panel(panel, pair, w, c0, width);
      packed = p;
      const int64_t t0 = blocks * r / ranges * 32, t1 = blocks * (r + 1) / ranges * 32;
      multiply_panel(dyb, O, t0, t1, panel, width / 16, [&](int64_t tb, int64_t col, const float* c) {
        const int64_t ib = c0 + col;
        for (int64_t i = 0; i < 16 && tb + i < T; ++i)
          for (int64_t n = 0; n < 16 && ib + n < I; ++n) dx[(tb + i) * ldx + ib + n] += c[i * 16 + n];
      });
    }
    _tile_release();
  });
}

}  // namespace limarp::kernels::amx
