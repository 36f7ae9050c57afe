// Q6_K × int8 activations with AVX-512 VNNI, on the stored 210-byte super-blocks: 16
// sub-blocks of 16 six-bit codes (low 4 bits in ql, high 2 bits in qh) with int8 scales.
// Per half super-block, one 64-byte ql load and one 32-byte qh load (broadcast to both
// halves of a register and shifted per half with VPSRLVW) rebuild two vectors of 64 codes,
// which are in natural element order, so activations need no reordering.
//
// The activations have one scale per super-block (kernels/super_act.h), as for the AVX2 kernel,
// so the sub-block scales apply in integers: VPMADDUBSW takes a code vector against the
// activations into 16-bit pair sums (at most 2 x 63 x 128), and VPDPWSSD multiplies each pair
// sum by its sub-block's scale (spread over the 16-bit positions once per super-block with
// VPERMW) and adds into 32-bit sums. The codes' offset 32 is one more VPDPWSSD of -32 x the
// sixteen scales with the activations' sums of 16. A super-block converts to float once. With a
// float scale per block of 32, every code vector also cost a conversion, a permutation and a
// multiply-add (bench/kernels_bench kernel_compute/q6_k).
#include "kernels/cpu/x86/avx512/kernels_avx512.h"
#include "kernels/cpu/x86/avx512/simd_util.h"
#include "kernels/super_act.h"
#include "tensor/quant_blocks.h"

namespace limarp::kernels::avx512 {
namespace {

constexpr int64_t kSuper = 256;

// The four code vectors of a super-block (elements 64v..64v + 63) and, per vector, each 16-bit
// position's sub-block scale; and -32 x the sixteen scales for the offset.
struct SuperBlock {
  __m512i codes[4], scales[4];
  __m512i offset_scales;  // sixteen int16 in the low half, zero above
};

inline SuperBlock unpack(const BlockQ6_K& b) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  const __m512i m2 = _mm512_set1_epi8(0x03);
  // 16-bit lane shifts: the first 256 bits take qh bits (0,1) / (4,5), the second (2,3) / (6,7).
  const __m512i shift_a = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
  const __m512i shift_b = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1);
  SuperBlock s;
  for (int h = 0; h < 2; ++h) {
    const __m512i l = _mm512_loadu_si512(b.ql + 64 * h);
    const __m512i hb = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h)));
    const __m512i ha = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(hb, shift_a), m2), 4);
    const __m512i hh = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(hb, shift_b), m2), 4);
    s.codes[2 * h] = _mm512_or_si512(_mm512_and_si512(l, m4), ha);
    s.codes[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), hh);
  }
  // Sixteen int16 scales; 16-bit position k of vector v covers elements 64v + 2k, 2k + 1, of
  // sub-block 4v + k / 8.
  const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
  const __m512i sc512 = _mm512_castsi256_si512(sc);
  static constexpr IndexTable<int16_t, 128> kSpread = [] {
    IndexTable<int16_t, 128> t{};
    for (int v = 0; v < 4; ++v)
      for (int k = 0; k < 32; ++k) t.v[32 * v + k] = static_cast<int16_t>(4 * v + k / 8);
    return t;
  }();
  for (int v = 0; v < 4; ++v) s.scales[v] = _mm512_permutexvar_epi16(_mm512_load_si512(kSpread.v + 32 * v), sc512);
  s.offset_scales = _mm512_zextsi256_si512(_mm256_mullo_epi16(sc, _mm256_set1_epi16(-32)));
  return s;
}

template <int TB>
void row(float* y, int64_t ldy, const uint8_t* w, const uint8_t* px, size_t ldx, int64_t supers) {
  __m512 acc[TB];
  for (int t = 0; t < TB; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < supers; ++i) {
    const auto* b = reinterpret_cast<const BlockQ6_K*>(w) + i;
    for (int c = 0; c < 4; ++c) prefetch_ahead(reinterpret_cast<const char*>(b) + 64 * c);
    const SuperBlock s = unpack(*b);
    const float d = _cvtsh_ss(b->d);
    for (int t = 0; t < TB; ++t) {
      const uint8_t* xs = px + t * ldx + i * kSuperActBytes;
      // At most 16 x 2032 x 128 x 32 for the offset plus 256 x 63 x 128 x 128 for the codes.
      __m512i sum = _mm512_dpwssd_epi32(
          _mm512_setzero_si512(), s.offset_scales,
          _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs + kSuperActSums16))));
      for (int v = 0; v < 4; ++v)
        sum = _mm512_dpwssd_epi32(sum, _mm512_maddubs_epi16(s.codes[v], _mm512_load_si512(xs + 64 * v)), s.scales[v]);
      float dx;
      std::memcpy(&dx, xs + kSuperActScale, 4);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(d * dx), acc[t]);
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

const WeightKernel kQ6_K = {
    "q6_k/avx512", DType::kQ6_K, Isa::kAvx512, kSuper, super_act_bytes, prepare_super_act, tile, 256};

}  // namespace limarp::kernels::avx512
