// Helpers shared by the AVX-512 kernels (this header is only included by files compiled
// with the AVX-512 flags).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace limarp::kernels::avx512 {

// Byte-permutation index from a function of the output byte position (0..63).
template <typename F>
inline __m512i byte_index(F f) {
  alignas(64) uint8_t idx[64];
  for (int p = 0; p < 64; ++p) idx[p] = static_cast<uint8_t>(f(p));
  return _mm512_load_si512(idx);
}

template <typename F>
inline __m512i dword_index(F f) {
  alignas(64) int32_t idx[16];
  for (int p = 0; p < 16; ++p) idx[p] = f(p);
  return _mm512_load_si512(idx);
}

// Calls body.template operator()<TB>() with TB = tokens (1..kMax), so per-token loops unroll.
template <int kMax, typename Body>
inline void dispatch_tokens(int64_t tokens, Body&& body) {
  if constexpr (kMax >= 1) {
    if (tokens == kMax) {
      body.template operator()<kMax>();
      return;
    }
    if constexpr (kMax > 1) dispatch_tokens<kMax - 1>(tokens, body);
  }
}

}  // namespace limarp::kernels::avx512
