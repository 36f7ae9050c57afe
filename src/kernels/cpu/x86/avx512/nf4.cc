// NF4 (bitsandbytes, blocks of 64: f32 absmax + 32 bytes, first value in the high nibble)
// × f32 activations with AVX-512: the 16 code values sit in one register and VPERMPS looks
// 16 codes up at once. Activations are prepared as even/odd halves per block so the high and
// low nibbles meet their partners without shuffling the weights.
//
// Prepared layout, per block of 64: [0,128) float x[0], x[2], ..., x[62];
//                                   [128,256) float x[1], x[3], ..., x[63].
#include "kernels/activation_quant.h"
#include "kernels/cpu/x86/avx512/kernels_avx512.h"
#include "kernels/cpu/x86/avx512/simd_util.h"
#include "tensor/quant_blocks.h"

namespace limarp::kernels::avx512 {
namespace {

constexpr int64_t kBlock = kNF4Block;

size_t bytes(int64_t n) { return static_cast<size_t>(n) * 4; }

void prepare(const float* x, int64_t n, uint8_t* out) {
  auto* o = reinterpret_cast<float*>(out);
  for (int64_t b = 0; b < n / kBlock; ++b)
    for (int j = 0; j < 32; ++j) {
      o[b * 64 + j] = x[b * 64 + 2 * j];
      o[b * 64 + 32 + j] = x[b * 64 + 2 * j + 1];
    }
}

template <int TB>
void row(float* y, int64_t ldy, const uint8_t* w, const uint8_t* px, size_t ldx, int64_t blocks) {
  const __m512 table = _mm512_loadu_ps(kNF4Codes);
  const __m512i m4 = _mm512_set1_epi32(0xF);
  __m512 acc[TB];
  for (int t = 0; t < TB; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const auto* blk = reinterpret_cast<const BlockNF4*>(w) + b;
    prefetch_ahead(blk);
    const __m512i b0 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->qs)));
    const __m512i b1 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->qs + 16)));
    const __m512 scale = _mm512_set1_ps(blk->absmax);
    // Values already scaled by absmax: one multiply per 16 here instead of per token.
    const __m512 even0 = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(b0, 4), table), scale);
    const __m512 even1 = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(b1, 4), table), scale);
    const __m512 odd0 = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_and_si512(b0, m4), table), scale);
    const __m512 odd1 = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_and_si512(b1, m4), table), scale);
    for (int t = 0; t < TB; ++t) {
      const float* xb = reinterpret_cast<const float*>(px + t * ldx) + b * 64;
      acc[t] = _mm512_fmadd_ps(even0, _mm512_loadu_ps(xb), acc[t]);
      acc[t] = _mm512_fmadd_ps(even1, _mm512_loadu_ps(xb + 16), acc[t]);
      acc[t] = _mm512_fmadd_ps(odd0, _mm512_loadu_ps(xb + 32), acc[t]);
      acc[t] = _mm512_fmadd_ps(odd1, _mm512_loadu_ps(xb + 48), acc[t]);
    }
  }
  for (int t = 0; t < TB; ++t) y[t * ldy] = _mm512_reduce_add_ps(acc[t]);
}

void tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
          int64_t tokens, int64_t n) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t0 = 0; t0 < tokens; t0 += 8)
      dispatch_tokens<8>(std::min<int64_t>(8, tokens - t0), [&]<int TB>() {
        row<TB>(y + t0 * ldy + r, ldy, w + r * ldw, px + t0 * ldx, ldx, n / kBlock);
      });
}

}  // namespace

const WeightKernel kNF4 = {"nf4/avx512", DType::kNF4, Isa::kAvx512, kBlock, bytes, prepare, tile};

}  // namespace limarp::kernels::avx512
