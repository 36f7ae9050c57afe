// Q6_K × int8 activations with AVX2, on the stored 210-byte super-blocks: per quarter of 32
// elements one vector of six-bit codes (a nibble of ql and two bits of qh, in element order),
// VPMADDUBSW against the activations, then VPMADDWD with the quarter's two sub-block scales
// (lanes 0-3 the first sub-block of 16, lanes 4-7 the second) into eight 32-bit sums. The
// activations have one scale per super-block (kernels/super_act.h), so the scales apply in
// integers and a super-block converts to float once; the codes' offset 32 enters as
// -32 * sum over sub-blocks of scale * sum(x), one VPMADDWD of the sixteen scales with the
// sixteen activation sums. With a float scale per block of 32, the conversions and multiplies
// were about a third of the kernel's operations. (Q4_K_M keeps its output matrix and about
// half its attn_v and ffn_down in Q6_K.)
#include "kernels/cpu/x86/avx2/kernels_avx2.h"

#include <immintrin.h>

#include <cstring>

#include "kernels/super_act.h"
#include "tensor/quant_blocks.h"

namespace limarp::kernels::avx2 {
namespace {

constexpr int64_t kSuper = 256;

// Lanes 0-3: sub-block 2q's scale, lanes 4-7: 2q + 1's, in both 16-bit halves of each lane.
// lo and hi are the scales unpacked to 32-bit lanes (VPUNPCKLWD / VPUNPCKHWD of the sixteen
// 16-bit scales with themselves): lo holds sub-blocks 0-3 and 8-11, hi 4-7 and 12-15.
template <int Q>
inline __m256i quarter_scales(__m256i lo, __m256i hi) {
  constexpr int a = (2 * Q) % 4 + 4 * (Q / 4), b = a + 1;
  return _mm256_permutevar8x32_epi32(Q % 4 < 2 ? lo : hi, _mm256_setr_epi32(a, a, a, a, b, b, b, b));
}

// Quarter K of half H: its 32 codes (0..63) in element order.
template <int K>
inline __m256i quarter_codes(__m256i ql0, __m256i ql1, __m256i qh) {
  const __m256i ql = K % 2 == 0 ? ql0 : ql1;
  const __m256i low = _mm256_and_si256(K < 2 ? ql : _mm256_srli_epi16(ql, 4), _mm256_set1_epi8(0x0F));
  // Bits 2K, 2K + 1 of each qh byte moved to bits 4-5: a 16-bit shift moves them within their
  // byte (the mask drops what crossed over), one shift fewer than down, mask, up.
  const __m256i at45 = K < 2 ? _mm256_slli_epi16(qh, 4 - 2 * K) : K == 2 ? qh : _mm256_srli_epi16(qh, 2);
  return _mm256_or_si256(low, _mm256_and_si256(at45, _mm256_set1_epi8(0x30)));
}

template <int H, int K>
inline __m256i quarter(__m256i sum, __m256i ql0, __m256i ql1, __m256i qh, __m256i lo, __m256i hi, const uint8_t* xs) {
  constexpr int q = 4 * H + K;
  const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs + 32 * q));
  const __m256i p = _mm256_maddubs_epi16(quarter_codes<K>(ql0, ql1, qh), x);  // at most 2 x 63 x 127 per pair
  return _mm256_add_epi32(sum, _mm256_madd_epi16(p, quarter_scales<q>(lo, hi)));
}

template <int H>
inline __m256i half(__m256i sum, const BlockQ6_K& b, __m256i lo, __m256i hi, const uint8_t* xs) {
  const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * H));
  const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * H + 32));
  const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * H));
  sum = quarter<H, 0>(sum, ql0, ql1, qh, lo, hi, xs);
  sum = quarter<H, 1>(sum, ql0, ql1, qh, lo, hi, xs);
  sum = quarter<H, 2>(sum, ql0, ql1, qh, lo, hi, xs);
  return quarter<H, 3>(sum, ql0, ql1, qh, lo, hi, xs);
}

float dot(const uint8_t* w, const uint8_t* px, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  const auto* blocks = reinterpret_cast<const BlockQ6_K*>(w);
  for (int64_t i = 0; i < n / kSuper; ++i) {
    const BlockQ6_K& b = blocks[i];
    const uint8_t* xs = px + i * kSuperActBytes;
    _mm_prefetch(reinterpret_cast<const char*>(&b) + 1024, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(&b) + 1024 + 64, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(&b) + 1024 + 128, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(&b) + 1024 + 192, _MM_HINT_T0);
    const __m256i scales = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
    const __m256i lo = _mm256_unpacklo_epi16(scales, scales), hi = _mm256_unpackhi_epi16(scales, scales);
    // 32 * sum over sub-blocks of scale * sum(x): at most 32 x 16 x 127 x 2032 in all.
    const __m256i offset = _mm256_slli_epi32(
        _mm256_madd_epi16(scales, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs + kSuperActSums16))), 5);
    __m256i sum = half<0>(_mm256_setzero_si256(), b, lo, hi, xs);
    sum = _mm256_sub_epi32(half<1>(sum, b, lo, hi, xs), offset);
    float dx;
    std::memcpy(&dx, xs + kSuperActScale, 4);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(_cvtsh_ss(b.d) * dx), acc);
  }
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

void tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
          int64_t tokens, int64_t n) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < tokens; ++t) y[t * ldy + r] = dot(w + r * ldw, px + t * ldx, n);
}

}  // namespace

const WeightKernel kQ6_K = {
    "q6_k/avx2", DType::kQ6_K, Isa::kAvx2, kSuper, super_act_bytes, prepare_super_act, tile, 256};

}  // namespace limarp::kernels::avx2
