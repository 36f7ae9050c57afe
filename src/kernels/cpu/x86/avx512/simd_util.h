// Helpers shared by the AVX-512 kernels (this header is only included by files compiled
// with the AVX-512 flags).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "tensor/row_interleave.h"

namespace limarp::kernels::avx512 {

// Software prefetch of the weight stream at two distances: 4 KiB ahead into L1 and 32 KiB
// ahead into L2. Hardware prefetchers alone ramp up too slowly on these streams, and the lead
// has to cover memory latency at the full read rate of a core, so it is kept long (the choice
// came from alternating distances in `limarp bench` decoding 7B Q4_0, Q4_K_M and Q8_0 files;
// docs/performance.md, "Prefetch distance").
inline void prefetch_ahead(const void* p) {
  _mm_prefetch(static_cast<const char*>(p) + 4096, _MM_HINT_T0);
  _mm_prefetch(static_cast<const char*>(p) + 32768, _MM_HINT_T1);
}

// Four bytes (four int8 activations, say) in every 32-bit lane; and one float in every lane.
inline __m512i broadcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

inline __m512 broadcast_float(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_ps(v);
}

// Permutation indices from a function of the output position, computed at compile time into a
// constant table: building them in registers at run time cost each call (one matrix row when
// decoding) more than a fifth of its time. F must be a captureless lambda.
template <typename T, int N>
struct alignas(64) IndexTable {
  T v[N];
};

template <typename F>
inline __m512i byte_index(F) {
  static constexpr IndexTable<uint8_t, 64> kTable = [] {
    IndexTable<uint8_t, 64> t{};
    for (int p = 0; p < 64; ++p) t.v[p] = static_cast<uint8_t>(F{}(p));
    return t;
  }();
  return _mm512_load_si512(kTable.v);
}

template <typename F>
inline __m512i dword_index(F) {
  static constexpr IndexTable<int32_t, 16> kTable = [] {
    IndexTable<int32_t, 16> t{};
    for (int p = 0; p < 16; ++p) t.v[p] = F{}(p);
    return t;
  }();
  return _mm512_load_si512(kTable.v);
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

// The tile of a kernel on the 16-row interleaved layout (w the first row of a group; rows a
// multiple of 16, as the model regroups only such matrices): group.template operator()<TB>
// (y, w, px) for each group of rows and each run of up to kMax tokens.
template <int kMax, typename Group>
inline void interleaved_groups(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px,
                               size_t ldx, int64_t tokens, Group&& group) {
  for (int64_t r = 0; r < rows; r += kInterleaveRows)
    for (int64_t t0 = 0; t0 < tokens; t0 += kMax)
      dispatch_tokens<kMax>(std::min<int64_t>(kMax, tokens - t0), [&]<int TB>() {
        group.template operator()<TB>(y + t0 * ldy + r, w + r * ldw, px + t0 * ldx);
      });
}

}  // namespace limarp::kernels::avx512
