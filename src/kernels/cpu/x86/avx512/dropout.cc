// AVX-512 dropout (kernels/lora.h): 8 splitmix64 hashes per step give the 16 masks of 8
// element pairs, exactly as the scalar dropout_keeps computes them; and its backward's masked
// add.
#include <immintrin.h>

#include "kernels/cpu/x86/avx512/kernels_avx512.h"
#include "kernels/lora.h"

namespace limarp::kernels::avx512 {

int64_t dropout_apply(float* out, uint8_t* keep, const float* x, const Dropout& d, int64_t n) {
  const int64_t full = n / 16 * 16;
  const __m512i golden = _mm512_set1_epi64(static_cast<long long>(0x9e3779b97f4a7c15ULL));
  const __m512i c1 = _mm512_set1_epi64(static_cast<long long>(0xbf58476d1ce4e5b9ULL));
  const __m512i c2 = _mm512_set1_epi64(static_cast<long long>(0x94d049bb133111ebULL));
  const __m512i seed = _mm512_set1_epi64(static_cast<long long>(d.seed));
  const __m512i threshold = _mm512_set1_epi32(static_cast<int>(dropout_threshold(d.p)));
  const __m512 scale = _mm512_set1_ps(1.0f / (1.0f - d.p));
  __m512i pair = _mm512_setr_epi64(1, 2, 3, 4, 5, 6, 7, 8);  // pair index + 1
  const __m512i eight = _mm512_set1_epi64(8);
  for (int64_t e = 0; e < full; e += 16) {
    __m512i z = _mm512_add_epi64(seed, _mm512_mullo_epi64(pair, golden));
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), c1);
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), c2);
    z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
    // 32-bit lane 2j must hold the high half of hash j (the even element): swap the halves.
    z = _mm512_ror_epi64(z, 32);
    const __mmask16 k = _mm512_cmpge_epu32_mask(_mm512_srli_epi32(z, 8), threshold);
    _mm512_storeu_ps(out + e, _mm512_maskz_mul_ps(k, _mm512_loadu_ps(x + e), scale));
    if (keep) _mm_storeu_si128(reinterpret_cast<__m128i*>(keep + e), _mm_maskz_set1_epi8(k, 1));
    pair = _mm512_add_epi64(pair, eight);
  }
  return full;
}

int64_t masked_add(float* out, const float* v, const uint8_t* keep, int64_t n) {
  const int64_t full = n / 16 * 16;
  for (int64_t e = 0; e < full; e += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(keep + e));
    const __mmask16 k = _mm_test_epi8_mask(bytes, bytes);
    _mm512_storeu_ps(out + e, _mm512_mask_add_ps(_mm512_loadu_ps(out + e), k, _mm512_loadu_ps(out + e),
                                                 _mm512_loadu_ps(v + e)));
  }
  return full;
}

}  // namespace limarp::kernels::avx512
