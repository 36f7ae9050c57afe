// Q4_K × int8 activations with AVX-512 VNNI, on the stored 144-byte super-blocks. A
// super-block holds 8 sub-blocks of 32 with 6-bit scales and mins; its 128 code bytes are
// two 64-byte loads whose low and high nibbles are the sub-block pairs (0,2), (1,3), (4,6),
// (5,7). Activations are prepared in that order, so each nibble vector meets its activations
// with one VPDPBUSD; per-lane float scales come from one permutation of the 8 scales.
//
// Prepared layout, per super-block (256 elements), 320 bytes:
//   [0,256)   int8 elements of sub-blocks 0,2 | 1,3 | 4,6 | 5,7 (64 bytes each)
//   [256,288) float d_x of sub-block j
//   [288,320) float d_x * sum_x of sub-block j
#include <cstring>

#include "base/half.h"
#include "kernels/activation_quant.h"
#include "kernels/cpu/x86/avx512/kernels_avx512.h"
#include "kernels/cpu/x86/avx512/simd_util.h"
#include "tensor/quant_blocks.h"

namespace limarp::kernels::avx512 {
namespace {

constexpr int64_t kSuper = 256;
constexpr size_t kSuperBytes = 320;
constexpr int kOrder[8] = {0, 2, 1, 3, 4, 6, 5, 7};  // sub-block stored at prepared slot s

size_t bytes(int64_t n) { return static_cast<size_t>(n / kSuper) * kSuperBytes; }

void prepare(const float* x, int64_t n, uint8_t* out) {
  for (int64_t i = 0; i < n / kSuper; ++i) {
    uint8_t* o = out + i * kSuperBytes;
    auto* dx = reinterpret_cast<float*>(o + 256);
    auto* dxs = reinterpret_cast<float*>(o + 288);
    for (int s = 0; s < 8; ++s) {
      const int j = kOrder[s];
      const ActBlock a = quantize_act_block(x + i * kSuper + 32 * j, reinterpret_cast<int8_t*>(o + 32 * s));
      dx[j] = a.d;
      dxs[j] = a.d * static_cast<float>(a.sum);
    }
  }
}

// The 8 six-bit scales and mins of a super-block, unpacked with 32-bit operations.
inline void unpack_scales(const uint8_t* s12, uint64_t* scales, uint64_t* mins) {
  uint32_t u0, u1, u2;
  std::memcpy(&u0, s12, 4);
  std::memcpy(&u1, s12 + 4, 4);
  std::memcpy(&u2, s12 + 8, 4);
  const uint32_t sc_lo = u0 & 0x3f3f3f3f, mn_lo = u1 & 0x3f3f3f3f;
  const uint32_t sc_hi = (u2 & 0x0f0f0f0f) | ((u0 >> 2) & 0x30303030);
  const uint32_t mn_hi = ((u2 >> 4) & 0x0f0f0f0f) | ((u1 >> 2) & 0x30303030);
  *scales = sc_lo | (static_cast<uint64_t>(sc_hi) << 32);
  *mins = mn_lo | (static_cast<uint64_t>(mn_hi) << 32);
}

template <int TB>
void row(float* y, int64_t ldy, const uint8_t* w, const uint8_t* px, size_t ldx, int64_t supers) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  const __m512i idx[4] = {dword_index([](int l) { return l < 8 ? 0 : 2; }), dword_index([](int l) { return l < 8 ? 1 : 3; }),
                          dword_index([](int l) { return l < 8 ? 4 : 6; }), dword_index([](int l) { return l < 8 ? 5 : 7; })};
  __m512 acc[TB];
  __m256 acc_min[TB];
  for (int t = 0; t < TB; ++t) {
    acc[t] = _mm512_setzero_ps();
    acc_min[t] = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < supers; ++i) {
    const auto* b = reinterpret_cast<const BlockQ4_K*>(w) + i;
    prefetch_ahead(b);
    prefetch_ahead(reinterpret_cast<const char*>(b) + 64);
    prefetch_ahead(reinterpret_cast<const char*>(b) + 128);
    uint64_t sc, mn;
    unpack_scales(b->scales, &sc, &mn);
    const __m256 scf = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(sc)))),
                                     _mm256_set1_ps(f16_to_f32(b->d)));
    const __m256 mnf = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(mn)))),
                                     _mm256_set1_ps(f16_to_f32(b->dmin)));
    const __m512i q0 = _mm512_loadu_si512(b->qs);
    const __m512i q1 = _mm512_loadu_si512(b->qs + 64);
    const __m512i codes[4] = {_mm512_and_si512(q0, m4), _mm512_and_si512(_mm512_srli_epi16(q0, 4), m4),
                              _mm512_and_si512(q1, m4), _mm512_and_si512(_mm512_srli_epi16(q1, 4), m4)};
    for (int t = 0; t < TB; ++t) {
      const uint8_t* xs = px + t * ldx + i * kSuperBytes;
      const __m256 s8 = _mm256_mul_ps(scf, _mm256_load_ps(reinterpret_cast<const float*>(xs + 256)));
      const __m512 s16 = _mm512_castps256_ps512(s8);
      acc_min[t] = _mm256_fmadd_ps(mnf, _mm256_load_ps(reinterpret_cast<const float*>(xs + 288)), acc_min[t]);
      for (int v = 0; v < 4; ++v) {
        const __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), codes[v], _mm512_load_si512(xs + 64 * v));
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_permutexvar_ps(idx[v], s16), acc[t]);
      }
    }
  }
  for (int t = 0; t < TB; ++t) {
    __m128 m = _mm_add_ps(_mm256_castps256_ps128(acc_min[t]), _mm256_extractf128_ps(acc_min[t], 1));
    m = _mm_hadd_ps(m, m);
    m = _mm_hadd_ps(m, m);
    y[t * ldy] = _mm512_reduce_add_ps(acc[t]) - _mm_cvtss_f32(m);
  }
}

void tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
          int64_t tokens, int64_t n) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t0 = 0; t0 < tokens; t0 += 4)
      dispatch_tokens<4>(std::min<int64_t>(4, tokens - t0), [&]<int TB>() {
        row<TB>(y + t0 * ldy + r, ldy, w + r * ldw, px + t0 * ldx, ldx, n / kSuper);
      });
}

}  // namespace

const WeightKernel kQ4_K = {"q4_k/avx512", DType::kQ4_K, Isa::kAvx512, kSuper, bytes, prepare, tile};

}  // namespace limarp::kernels::avx512
