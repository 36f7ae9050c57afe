// Q4_0 and Q8_0 in the 16-row interleaved layout (tensor/row_interleave.h) × int8 activations,
// with AVX-512 VNNI: a vector lane is a row, so per block column the sixteen rows' scales
// convert once, the codes unpack once into eight vectors of unsigned bytes (Q4_0: low and
// high nibbles; Q8_0: bytes flipped by 128), and each meets a broadcast of four activations in
// VPDPBUSD. The codes' offset (8 or 128) enters as the accumulator's starting value,
// -offset * sum(x), so no per-lane correction is left.
//
// Prepared activation rows: kernels/interleaved_act.h.
#include "kernels/cpu/x86/avx512/kernels_avx512.h"
#include "kernels/cpu/x86/avx512/simd_util.h"
#include "kernels/interleaved_act.h"
#include "tensor/row_interleave.h"

namespace limarp::kernels::avx512 {
namespace {

constexpr int64_t kBlock = 32;

// A block column's codes as eight vectors of unsigned bytes; vector u pairs with activations
// 4u..4u+3 (Q4_0: low nibbles of code bytes 4u.. for u < 4, high nibbles of 4(u-4).. after).
template <DType kType>
inline void unpack(const uint8_t* codes, __m512i u[8]) {
  if constexpr (kType == DType::kQ4_0) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int j = 0; j < 4; ++j) {
      const __m512i q = _mm512_loadu_si512(codes + 64 * j);
      u[j] = _mm512_and_si512(q, m4);
      u[4 + j] = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
    }
  } else {
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    for (int j = 0; j < 8; ++j) u[j] = _mm512_xor_si512(_mm512_loadu_si512(codes + 64 * j), flip);
  }
}

// One block column of 16 rows against one token's prepared block: 16 row sums, times d_x.
// Four independent chains of two VPDPBUSD each, so their latency overlaps.
inline __m512 block_dot(const __m512i u[8], const uint8_t* x) {
  __m512i s[4];
  for (int c = 0; c < 4; ++c) {
    s[c] = _mm512_dpbusd_epi32(c == 0 ? broadcast4(x + 36) : _mm512_setzero_si512(), u[c], broadcast4(x + 4 * c));
    s[c] = _mm512_dpbusd_epi32(s[c], u[c + 4], broadcast4(x + 16 + 4 * c));
  }
  const __m512i sum = _mm512_add_epi32(_mm512_add_epi32(s[0], s[1]), _mm512_add_epi32(s[2], s[3]));
  return _mm512_mul_ps(_mm512_cvtepi32_ps(sum), broadcast_float(x + 32));
}

// 16 rows × TB tokens. Each token alternates two accumulators between block columns so
// consecutive columns do not wait on each other's multiply-add.
template <DType kType, int TB>
void group(float* y, int64_t ldy, const uint8_t* w, const uint8_t* px, size_t ldx, int64_t blocks) {
  const int64_t column = static_cast<int64_t>(interleaved_column_bytes(kType));
  // Two accumulators for every batch size, not only for one token: a token's sum must come out
  // the same whatever shares the call (speculative decoding compares them).
  constexpr int kAccs = 2;
  __m512 acc[kAccs][TB];
  for (int a = 0; a < kAccs; ++a)
    for (int t = 0; t < TB; ++t) acc[a][t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* col = w + b * column;
    for (int64_t line = 0; line < column; line += 64) prefetch_ahead(col + line);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(col)));
    __m512i u[8];
    unpack<kType>(col + 32, u);
    for (int t = 0; t < TB; ++t) {
      __m512& a = acc[kAccs == 2 ? b % 2 : 0][t];
      a = _mm512_fmadd_ps(block_dot(u, px + t * ldx + b * kInterleavedActBytes), dw, a);
    }
  }
  for (int t = 0; t < TB; ++t)
    _mm512_storeu_ps(y + t * ldy, kAccs == 2 ? _mm512_add_ps(acc[0][t], acc[kAccs - 1][t]) : acc[0][t]);
}

constexpr int64_t kMaxTokens = 8;

template <DType kType>
void tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
          int64_t tokens, int64_t n) {
  interleaved_groups<kMaxTokens>(y, ldy, w, ldw, rows, px, ldx, tokens,
                                 [&]<int TB>(float* yg, const uint8_t* wg, const uint8_t* pg) {
                                   group<kType, TB>(yg, ldy, wg, pg, ldx, n / kBlock);
                                 });
}

}  // namespace

const WeightKernel kQ4_0R16 = {"q4_0r16/avx512",         DType::kQ4_0, Isa::kAvx512, kBlock, interleaved_act_bytes,
                               prepare_interleaved_q4_0, tile<DType::kQ4_0>,
                               32,                       RowLayout::kInterleaved16};
const WeightKernel kQ8_0R16 = {"q8_0r16/avx512",         DType::kQ8_0, Isa::kAvx512, kBlock, interleaved_act_bytes,
                               prepare_interleaved_q8_0, tile<DType::kQ8_0>,
                               32,                       RowLayout::kInterleaved16};

}  // namespace limarp::kernels::avx512
