// Q4_0 and Q8_0 in the 16-row interleaved layout (tensor/row_interleave.h) × int8 activations,
// with AVX2: a 32-bit lane is a row, sixteen rows are two 8-lane halves. Per block column each
// half's eight scales convert with one instruction and its codes unpack once for the tokens of
// the tile; each code vector meets a broadcast of four activations in VPMADDUBSW (four bytes of
// a lane into two 16-bit sums) and VPMADDWD (into the lane's 32-bit dot). The stored-layout
// kernel instead rebuilds one row's block per step and ends each row with a horizontal sum.
//   Q4_0: codes are unsigned nibbles (at most 15 x 127 per pair), so a column's eight products
//   add up in 16 bits (at most 30480) before one VPMADDWD; the offset 8 enters as -8 * sum(x).
//   Q8_0: signed codes, multiplied as |q| times x with q's sign (VPSIGNB), at most 2 x 128 x 127
//   per pair; each vector goes to 32 bits on its own.
// Prepared activation rows: kernels/interleaved_act.h.
#include "kernels/avx2/interleaved_avx2.h"

#include <immintrin.h>

#include <cstring>

#include "kernels/interleaved_act.h"
#include "tensor/row_interleave.h"

namespace limarp::kernels::avx2 {
namespace {

constexpr int64_t kBlock = 32;

inline __m256i broadcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

inline __m256 broadcast_float(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_ps(v);
}

// Half h (rows 8h..8h+7) of a block column against TB tokens' prepared blocks: acc[t] += the
// eight rows' dot products for token t.
template <DType kType, int TB>
inline void half_column(__m256 acc[TB], const uint8_t* col, int h, const uint8_t* px, size_t ldx, int64_t b) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(col + 16 * h)));
  const uint8_t* codes = col + 32 + 32 * h;
  if constexpr (kType == DType::kQ4_0R16) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256i u[8];  // u[j] pairs with activations 4j..4j+3: low nibbles, then high ones
    for (int j = 0; j < 4; ++j) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + 64 * j));
      u[j] = _mm256_and_si256(q, m4);
      u[4 + j] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
    }
    for (int t = 0; t < TB; ++t) {
      const uint8_t* x = px + t * ldx + b * kInterleavedActBytes;
      __m256i p = _mm256_maddubs_epi16(u[0], broadcast4(x));
      for (int j = 1; j < 8; ++j) p = _mm256_add_epi16(p, _mm256_maddubs_epi16(u[j], broadcast4(x + 4 * j)));
      const __m256i s = _mm256_add_epi32(_mm256_madd_epi16(p, ones), broadcast4(x + 36));
      acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), broadcast_float(x + 32)), d, acc[t]);
    }
  } else {
    __m256i q[8];
    for (int j = 0; j < 8; ++j) q[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + 64 * j));
    for (int t = 0; t < TB; ++t) {
      const uint8_t* x = px + t * ldx + b * kInterleavedActBytes;
      __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
      // |q| is recomputed per token: keeping it too would need more than AVX2's 16 registers.
      auto dot = [&](int j) {
        const __m256i signed_x = _mm256_sign_epi8(broadcast4(x + 4 * j), q[j]);
        return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(q[j], q[j]), signed_x), ones);
      };
      for (int j = 0; j < 8; j += 2) {
        s0 = _mm256_add_epi32(s0, dot(j));
        s1 = _mm256_add_epi32(s1, dot(j + 1));
      }
      const __m256 s = _mm256_cvtepi32_ps(_mm256_add_epi32(s0, s1));
      acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(s, broadcast_float(x + 32)), d, acc[t]);
    }
  }
}

// 16 rows × TB tokens, half by half.
template <DType kType, int TB>
void group(float* y, int64_t ldy, const uint8_t* w, const uint8_t* px, size_t ldx, int64_t blocks) {
  const int64_t column = static_cast<int64_t>(interleaved_column_bytes(kType));
  for (int h = 0; h < 2; ++h) {
    __m256 acc[TB];
    for (int t = 0; t < TB; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t* col = w + b * column;
      if (h == 0)
        for (int64_t line = 0; line < column; line += 64) {
          _mm_prefetch(reinterpret_cast<const char*>(col + line) + 1024, _MM_HINT_T0);
          _mm_prefetch(reinterpret_cast<const char*>(col + line) + 8192, _MM_HINT_T1);
        }
      half_column<kType, TB>(acc, col, h, px, ldx, b);
    }
    for (int t = 0; t < TB; ++t) _mm256_storeu_ps(y + t * ldy + 8 * h, acc[t]);
  }
}

// w is the first row of a group; rows is a multiple of 16 (the model regroups only such
// matrices). Tiles of up to two tokens: AVX2 has 16 vector registers.
template <DType kType>
void tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
          int64_t tokens, int64_t n) {
  for (int64_t r = 0; r < rows; r += kInterleaveRows)
    for (int64_t t0 = 0; t0 < tokens; t0 += 2) {
      float* yt = y + t0 * ldy + r;
      const uint8_t* xt = px + t0 * ldx;
      if (tokens - t0 >= 2) group<kType, 2>(yt, ldy, w + r * ldw, xt, ldx, n / kBlock);
      else group<kType, 1>(yt, ldy, w + r * ldw, xt, ldx, n / kBlock);
    }
}

}  // namespace

const WeightKernel kQ4_0R16 = {"q4_0r16/avx2", DType::kQ4_0R16, Isa::kAvx2, kBlock, interleaved_act_bytes,
                               prepare_interleaved_q4_0, tile<DType::kQ4_0R16>};
const WeightKernel kQ8_0R16 = {"q8_0r16/avx2", DType::kQ8_0R16, Isa::kAvx2, kBlock, interleaved_act_bytes,
                               prepare_interleaved_q8_0, tile<DType::kQ8_0R16>};

}  // namespace limarp::kernels::avx2
