// f32, f16 and bf16 weights × f32 activations with AVX-512: rows are converted 16 values at a
// time (VCVTPH2PS for f16, a 16-bit shift for bf16) and multiplied by up to four tokens, in
// micro-tiles of 6 rows × 4 tokens so each converted weight vector is used 4 times and each
// activation vector 6 times. Decode (one token) streams 4 rows at once for memory parallelism.
// Rows of any length: the last partial group of 16 is read with masked loads.
#include <cstring>

#include "kernels/activation_quant.h"
#include "kernels/cpu/x86/avx512/kernels_avx512.h"
#include "kernels/cpu/x86/avx512/simd_util.h"

namespace limarp::kernels::avx512 {
namespace {

size_t bytes(int64_t n) { return round_up_64(static_cast<size_t>(n) * 4); }
void prepare(const float* x, int64_t n, uint8_t* out) { std::memcpy(out, x, static_cast<size_t>(n) * 4); }

template <DType kType>
inline __m512 load16(const uint8_t* row, int64_t i) {
  if constexpr (kType == DType::kF32) {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + i);
  } else if constexpr (kType == DType::kF16) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * i)));
  } else {
    const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * i)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
  }
}

// The last, partial group of a row: masked loads read only the row's own elements (zeros
// elsewhere), so rows of any length work without padding.
template <DType kType>
inline __m512 load_tail(const uint8_t* row, int64_t i, __mmask16 m) {
  if constexpr (kType == DType::kF32) {
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + i);
  } else if constexpr (kType == DType::kF16) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * i));
  } else {
    const __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, row + 2 * i));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
  }
}

template <DType kType, int RB, int TB>
void micro(float* y, int64_t ldy, const uint8_t* w, size_t ldw, const uint8_t* px, size_t ldx, int64_t n) {
  __m512 acc[RB][TB];
  for (int r = 0; r < RB; ++r)
    for (int t = 0; t < TB; ++t) acc[r][t] = _mm512_setzero_ps();
  const int64_t full = n / 16 * 16;
  for (int64_t i = 0; i < full; i += 16) {
    __m512 wv[RB];
    constexpr int64_t kElem = kType == DType::kF32 ? 4 : 2;
    for (int r = 0; r < RB; ++r) {
      if ((i * kElem) % 64 == 0) prefetch_ahead(w + r * ldw + i * kElem);  // once per cache line
      wv[r] = load16<kType>(w + r * ldw, i);
    }
    for (int t = 0; t < TB; ++t) {
      const __m512 xv = _mm512_loadu_ps(reinterpret_cast<const float*>(px + t * ldx) + i);
      for (int r = 0; r < RB; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
    }
  }
  if (full < n) {
    const auto m = static_cast<__mmask16>((1u << (n - full)) - 1);
    __m512 wv[RB];
    for (int r = 0; r < RB; ++r) wv[r] = load_tail<kType>(w + r * ldw, full, m);
    for (int t = 0; t < TB; ++t) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(px + t * ldx) + full);
      for (int r = 0; r < RB; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
    }
  }
  for (int r = 0; r < RB; ++r)
    for (int t = 0; t < TB; ++t) y[t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
}

// Rows per micro-tile: 6 rows x 4 tokens is 24 accumulators, 6 weight vectors and one
// activation vector, 31 of the 32 registers, and loads one activation vector per 6 multiply-adds
// (4 x 4: one per 4). Prompt and training products run from L2, where those loads are what
// limits (`limarp train --benchmark`, stories15M/110M shapes).
constexpr int64_t kTileRows = 6;

template <DType kType>
void tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
          int64_t tokens, int64_t n) {
  // One token (decoding) streams weights from memory, where 4 rows at once measured faster.
  const int64_t tile_rows = tokens == 1 ? 4 : kTileRows;
  for (int64_t r = 0; r < rows; r += tile_rows) {
    const int64_t rb = std::min<int64_t>(tile_rows, rows - r);
    for (int64_t t = 0; t < tokens; t += 4) {
      const int64_t tb = std::min<int64_t>(4, tokens - t);
      float* yy = y + t * ldy + r;
      const uint8_t* ww = w + r * ldw;
      const uint8_t* xx = px + t * ldx;
      dispatch_tokens<kTileRows>(rb, [&]<int RB>() {
        dispatch_tokens<4>(tb, [&]<int TB>() { micro<kType, RB, TB>(yy, ldy, ww, ldw, xx, ldx, n); });
      });
    }
  }
}

}  // namespace

const WeightKernel kF32 = {"f32/avx512", DType::kF32, Isa::kAvx512, 1, bytes, prepare, tile<DType::kF32>};
const WeightKernel kF16 = {"f16/avx512", DType::kF16, Isa::kAvx512, 1, bytes, prepare, tile<DType::kF16>};
const WeightKernel kBF16 = {"bf16/avx512", DType::kBF16, Isa::kAvx512, 1, bytes, prepare, tile<DType::kBF16>};

}  // namespace limarp::kernels::avx512
