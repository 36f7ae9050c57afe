// Q6_K × int8 activations with AVX-512 VNNI, on the stored 210-byte super-blocks: 16
// sub-blocks of 16 six-bit codes (low 4 bits in ql, high 2 bits in qh) with int8 scales.
// Per half super-block, one 64-byte ql load and one 32-byte qh load (broadcast to both
// halves of a register and shifted per half with VPSRLVW) rebuild two vectors of 64 codes,
// which are in natural element order, so activations need no reordering.
//
// Prepared layout, per super-block (256 elements), 384 bytes:
//   [0,256) int8 elements; [256,320) float d_x for sub-block s (of 16);
//   [320,384) float -32 * d_x * sum_x over sub-block s.
#include <cstring>

#include "base/half.h"
#include "kernels/activation_quant.h"
#include "kernels/cpu/x86/avx512/kernels_avx512.h"
#include "kernels/cpu/x86/avx512/simd_util.h"
#include "tensor/quant_blocks.h"

namespace limarp::kernels::avx512 {
namespace {

constexpr int64_t kSuper = 256;
constexpr size_t kSuperBytes = 384;

size_t bytes(int64_t n) { return static_cast<size_t>(n / kSuper) * kSuperBytes; }

void prepare(const float* x, int64_t n, uint8_t* out) {
  for (int64_t i = 0; i < n / kSuper; ++i) {
    uint8_t* o = out + i * kSuperBytes;
    auto* q = reinterpret_cast<int8_t*>(o);
    auto* dx = reinterpret_cast<float*>(o + 256);
    auto* cs = reinterpret_cast<float*>(o + 320);
    for (int b = 0; b < 8; ++b) {
      const ActBlock a = quantize_act_block(x + i * kSuper + 32 * b, q + 32 * b);
      for (int h = 0; h < 2; ++h) {
        int32_t sum = 0;
        for (int l = 0; l < 16; ++l) sum += q[32 * b + 16 * h + l];
        dx[2 * b + h] = a.d;
        cs[2 * b + h] = -32.0f * a.d * static_cast<float>(sum);
      }
    }
  }
}

template <int TB>
void row(float* y, int64_t ldy, const uint8_t* w, const uint8_t* px, size_t ldx, int64_t supers) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  const __m512i m2 = _mm512_set1_epi8(0x03);
  // 16-bit lane shifts: the first 256 bits take qh bits (0,1) / (4,5), the second (2,3) / (6,7).
  const __m512i shift_a = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
  const __m512i shift_b = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1);
  const __m512i idx[4] = {dword_index([](int l) { return l / 4; }), dword_index([](int l) { return 4 + l / 4; }),
                          dword_index([](int l) { return 8 + l / 4; }), dword_index([](int l) { return 12 + l / 4; })};
  __m512 acc[TB];
  for (int t = 0; t < TB; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < supers; ++i) {
    const auto* b = reinterpret_cast<const BlockQ6_K*>(w) + i;
    for (int c = 0; c < 4; ++c) prefetch_ahead(reinterpret_cast<const char*>(b) + 64 * c);
    const __m512 sc = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(
                                        reinterpret_cast<const __m128i*>(b->scales)))),
                                    _mm512_set1_ps(f16_to_f32(b->d)));
    __m512i codes[4];
    for (int h = 0; h < 2; ++h) {
      const __m512i l = _mm512_loadu_si512(b->ql + 64 * h);
      const __m512i hb = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qh + 32 * h)));
      const __m512i ha = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(hb, shift_a), m2), 4);
      const __m512i hh = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(hb, shift_b), m2), 4);
      codes[2 * h] = _mm512_or_si512(_mm512_and_si512(l, m4), ha);
      codes[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), hh);
    }
    for (int t = 0; t < TB; ++t) {
      const uint8_t* xs = px + t * ldx + i * kSuperBytes;
      const __m512 s = _mm512_mul_ps(sc, _mm512_load_ps(reinterpret_cast<const float*>(xs + 256)));
      acc[t] = _mm512_fmadd_ps(sc, _mm512_load_ps(reinterpret_cast<const float*>(xs + 320)), acc[t]);
      for (int v = 0; v < 4; ++v) {
        const __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), codes[v], _mm512_load_si512(xs + 64 * v));
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_permutexvar_ps(idx[v], s), acc[t]);
      }
    }
  }
  for (int t = 0; t < TB; ++t) y[t * ldy] = _mm512_reduce_add_ps(acc[t]);
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

const WeightKernel kQ6_K = {"q6_k/avx512", DType::kQ6_K, Isa::kAvx512, kSuper, bytes, prepare, tile};

}  // namespace limarp::kernels::avx512
