// AVX2 versions of vector_math.h's reductions that the other levels have too (registered by
// cpu/x86/x86_family.cc).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/x86/avx2/kernels_avx2.h"

namespace limarp::kernels::avx2 {

// Four independent 256-bit chains: the bandwidth probe must read at least as fast as the
// decode kernels do, or the limit it reports is too low (the compiler's 128-bit version of the
// scalar loop measured 23-34 GB/s on a Zen 3 VM whose AVX2 decode read 24-26 GB/s).
uint64_t sum_u64(const uint64_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = _mm256_add_epi64(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 4)));
    a2 = _mm256_add_epi64(a2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 8)));
    a3 = _mm256_add_epi64(a3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 12)));
  }
  uint64_t tail = 0;
  for (; i < n; ++i) tail += p[i];
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes),
                     _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + tail;
}

}  // namespace limarp::kernels::avx2
