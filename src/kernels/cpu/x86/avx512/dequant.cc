// AVX-512 dequantization of whole rows, for the AMX prompt GEMM's weight panels (each weight is
// dequantized once per prompt chunk, so this must run far faster than the multiplies it feeds).
// Same values as the scalar reference in tensor/quantize.cc; types without a vector path
// return false and the caller uses the reference.
#include <immintrin.h>

#include <cstring>

#include "base/half.h"
#include "kernels/cpu/x86/avx512/kernels_avx512.h"
#include "tensor/quant_blocks.h"

namespace limarp::kernels::avx512 {
namespace {

inline __m512 bytes_to_f32(__m128i b) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b)); }

void q8_0(const BlockQ8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const __m512 d = _mm512_set1_ps(f16_to_f32(b[i].d));
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs));
    _mm512_storeu_ps(y, _mm512_mul_ps(bytes_to_f32(_mm256_castsi256_si128(q)), d));
    _mm512_storeu_ps(y + 16, _mm512_mul_ps(bytes_to_f32(_mm256_extracti128_si256(q, 1)), d));
  }
}

void q4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  const __m128i m4 = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const __m512 d = _mm512_set1_ps(f16_to_f32(b[i].d));
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[i].qs));
    const __m128i lo = _mm_sub_epi8(_mm_and_si128(q, m4), eight);
    const __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), m4), eight);
    _mm512_storeu_ps(y, _mm512_mul_ps(bytes_to_f32(lo), d));
    _mm512_storeu_ps(y + 16, _mm512_mul_ps(bytes_to_f32(hi), d));
  }
}

void q4_k(const BlockQ4_K* b, float* y, int64_t nb) {
  const __m128i m4 = _mm_set1_epi8(0x0F);
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    const uint8_t* q = b[i].qs;
    for (int j = 0; j < 4; ++j, q += 32) {
      uint8_t sc, mn;
      k_scale_min(2 * j, b[i].scales, &sc, &mn);
      const __m512 d1 = _mm512_set1_ps(d * sc), m1 = _mm512_set1_ps(dmin * mn);
      k_scale_min(2 * j + 1, b[i].scales, &sc, &mn);
      const __m512 d2 = _mm512_set1_ps(d * sc), m2 = _mm512_set1_ps(dmin * mn);
      for (int h = 0; h < 2; ++h) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16 * h));
        _mm512_storeu_ps(y + 16 * h, _mm512_fmsub_ps(bytes_to_f32(_mm_and_si128(v, m4)), d1, m1));
        _mm512_storeu_ps(y + 32 + 16 * h, _mm512_fmsub_ps(bytes_to_f32(_mm_and_si128(_mm_srli_epi16(v, 4), m4)), d2, m2));
      }
      y += 64;
    }
  }
}

void q6_k(const BlockQ6_K* b, float* y, int64_t nb) {
  const __m128i m4 = _mm_set1_epi8(0x0F), m2 = _mm_set1_epi8(0x03), off = _mm_set1_epi8(32);
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int n = 0; n < 2; ++n) {
      const uint8_t* ql = b[i].ql + 64 * n;
      const uint8_t* qh = b[i].qh + 32 * n;
      const int8_t* sc = b[i].scales + 8 * n;
      float* yy = y + 128 * n;
      for (int l = 0; l < 32; l += 16) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ql + l));
        const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ql + l + 32));
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qh + l));
        const __m128i q1 = _mm_sub_epi8(_mm_or_si128(_mm_and_si128(a, m4), _mm_slli_epi16(_mm_and_si128(h, m2), 4)), off);
        const __m128i q2 = _mm_sub_epi8(
            _mm_or_si128(_mm_and_si128(c, m4), _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(h, 2), m2), 4)), off);
        const __m128i q3 = _mm_sub_epi8(
            _mm_or_si128(_mm_and_si128(_mm_srli_epi16(a, 4), m4), _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(h, 4), m2), 4)),
            off);
        const __m128i q4 = _mm_sub_epi8(
            _mm_or_si128(_mm_and_si128(_mm_srli_epi16(c, 4), m4), _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(h, 6), m2), 4)),
            off);
        const int is = l / 16;
        _mm512_storeu_ps(yy + l, _mm512_mul_ps(bytes_to_f32(q1), _mm512_set1_ps(d * sc[is])));
        _mm512_storeu_ps(yy + l + 32, _mm512_mul_ps(bytes_to_f32(q2), _mm512_set1_ps(d * sc[is + 2])));
        _mm512_storeu_ps(yy + l + 64, _mm512_mul_ps(bytes_to_f32(q3), _mm512_set1_ps(d * sc[is + 4])));
        _mm512_storeu_ps(yy + l + 96, _mm512_mul_ps(bytes_to_f32(q4), _mm512_set1_ps(d * sc[is + 6])));
      }
    }
    y += 256;
  }
}

void bf16(const uint16_t* s, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i)));
    _mm512_storeu_ps(y + i, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)));
  }
}

}  // namespace

bool dequantize_row(DType type, const void* src, float* dst, int64_t n) {
  switch (type) {
    case DType::kQ8_0: q8_0(static_cast<const BlockQ8_0*>(src), dst, n / kQK); return true;
    case DType::kQ4_0: q4_0(static_cast<const BlockQ4_0*>(src), dst, n / kQK); return true;
    case DType::kQ4_K: q4_k(static_cast<const BlockQ4_K*>(src), dst, n / kQK_K); return true;
    case DType::kQ6_K: q6_k(static_cast<const BlockQ6_K*>(src), dst, n / kQK_K); return true;
    case DType::kBF16:
      if (n % 16 != 0) return false;
      bf16(static_cast<const uint16_t*>(src), dst, n);
      return true;
    default: return false;
  }
}

}  // namespace limarp::kernels::avx512
