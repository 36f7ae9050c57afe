// Q8_0 × int8 activations with AVX-512 VNNI + VBMI, reading stored 34-byte blocks in place:
// each group of two blocks (68 bytes) is gathered by one byte permutation. VPDPBUSD multiplies
// unsigned by signed bytes, so the weights are flipped to unsigned (w + 128, an XOR) and
// 128 * sum(x) is removed through a per-block constant prepared with the activations.
//
// Prepared layout, per group of 2 blocks (64 elements), 192 bytes:
//   [0,64) int8 elements; [64,128) float d_x of block k in lanes 8k..8k+7;
//   [128,192) float -128 * d_x * sum_x / 8 of block k in lanes 8k..8k+7.
#include <cstring>

#include "kernels/activation_quant.h"
#include "kernels/cpu/x86/avx512/kernels_avx512.h"
#include "kernels/cpu/x86/avx512/simd_util.h"
#include "tensor/quant_blocks.h"

namespace limarp::kernels::avx512 {
namespace {

constexpr int64_t kGroup = 64;
constexpr size_t kGroupBytes = 192;
constexpr size_t kWeightGroupBytes = 2 * sizeof(BlockQ8_0);  // 68

size_t bytes(int64_t n) { return static_cast<size_t>(n / kGroup) * kGroupBytes; }

void prepare(const float* x, int64_t n, uint8_t* out) {
  for (int64_t g = 0; g < n / kGroup; ++g) {
    uint8_t* o = out + g * kGroupBytes;
    auto* dx = reinterpret_cast<float*>(o + 64);
    auto* cx = reinterpret_cast<float*>(o + 128);
    for (int k = 0; k < 2; ++k) {
      const ActBlock a = quantize_act_block(x + g * kGroup + k * kActBlock, reinterpret_cast<int8_t*>(o + 32 * k));
      for (int l = 0; l < 8; ++l) {
        dx[8 * k + l] = a.d;
        cx[8 * k + l] = -128.0f * a.d * static_cast<float>(a.sum) / 8.0f;
      }
    }
  }
}

inline void accumulate(__m512& acc, __m512i wu, __m512 dw, const uint8_t* xg) {
  const __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wu, _mm512_load_si512(xg));
  acc = _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_load_ps(xg + 64), _mm512_load_ps(xg + 128)), dw,
                        acc);
}

// The main loop takes two groups (136 bytes) per step, so one permutation gathers all four
// block scales (as in q4_0.cc); each token keeps two accumulators so the groups' sums overlap.
template <int TB>
void row(float* y, int64_t ldy, const uint8_t* w, const uint8_t* px, size_t ldx, int64_t groups) {
  const __m512i idx_qs = byte_index([](int p) { return (p / 32) * 34 + 2 + p % 32; });
  // The second group starts at byte 68: 4 bytes into the second 64-byte load.
  const __m512i idx_qs_next = byte_index([](int p) { return 4 + (p / 32) * 34 + 2 + p % 32; });
  const __m512i idx_d = byte_index([](int p) { return p < 32 ? (p / 16) * 34 + (p % 2) : 0; });
  const __m512i idx_d_pair = byte_index([](int p) { return (p / 32) * 68 + (p % 32 / 16) * 34 + p % 2; });
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  // Two accumulators for every batch size, not only for one token: a token's sum must come out
  // the same whatever shares the call (speculative decoding compares them).
  constexpr int kAccs = 2;
  __m512 acc[kAccs][TB];
  for (int a = 0; a < kAccs; ++a)
    for (int t = 0; t < TB; ++t) acc[a][t] = _mm512_setzero_ps();
  int64_t g = 0;
  for (; g + 2 <= groups; g += 2) {
    const uint8_t* wg = w + g * kWeightGroupBytes;
    prefetch_ahead(wg);
    prefetch_ahead(wg + 64);
    const __m512i a = _mm512_loadu_si512(wg), b = _mm512_loadu_si512(wg + 64);
    const __m512i c = _mm512_castsi128_si512(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(wg + 128)));
    const __m512i wu0 = _mm512_xor_si512(_mm512_permutex2var_epi8(a, idx_qs, b), flip);
    const __m512i wu1 = _mm512_xor_si512(_mm512_permutex2var_epi8(b, idx_qs_next, c), flip);
    const __m512i d = _mm512_permutex2var_epi8(a, idx_d_pair, b);
    const __m512 dw0 = _mm512_cvtph_ps(_mm512_castsi512_si256(d));
    const __m512 dw1 = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(d, 1));
    for (int t = 0; t < TB; ++t) {
      const uint8_t* xg = px + t * ldx + g * kGroupBytes;
      accumulate(acc[0][t], wu0, dw0, xg);
      accumulate(acc[kAccs - 1][t], wu1, dw1, xg + kGroupBytes);
    }
  }
  if (g < groups) {
    const uint8_t* wg = w + g * kWeightGroupBytes;
    const __m512i a = _mm512_loadu_si512(wg);
    const __m512i b = _mm512_castsi128_si512(_mm_loadu_si32(wg + 64));
    const __m512i wu = _mm512_xor_si512(_mm512_permutex2var_epi8(a, idx_qs, b), flip);
    const __m512 dw = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutex2var_epi8(a, idx_d, b)));
    for (int t = 0; t < TB; ++t) accumulate(acc[0][t], wu, dw, px + t * ldx + g * kGroupBytes);
  }
  for (int t = 0; t < TB; ++t)
    y[t * ldy] = _mm512_reduce_add_ps(kAccs == 2 ? _mm512_add_ps(acc[0][t], acc[1][t]) : acc[0][t]);
}

void tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
          int64_t tokens, int64_t n) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t0 = 0; t0 < tokens; t0 += 8)
      dispatch_tokens<8>(std::min<int64_t>(8, tokens - t0), [&]<int TB>() {
        row<TB>(y + t0 * ldy + r, ldy, w + r * ldw, px + t0 * ldx, ldx, n / kGroup);
      });
}

}  // namespace

const WeightKernel kQ8_0 = {"q8_0/avx512", DType::kQ8_0, Isa::kAvx512, kGroup, bytes, prepare, tile};

}  // namespace limarp::kernels::avx512
