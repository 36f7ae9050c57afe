// Q4_0 in the 16-row interleaved layout (tensor/q4_0_interleave.h) × int8 activations, with
// AVX-512 VNNI: a vector lane is a row, so per block column the sixteen rows' scales convert
// once, each of the four code vectors splits into low and high nibbles once, and VPDPBUSD
// multiplies them with a broadcast of four activations. The code offset of 8 enters as the
// accumulator's starting value, -8 * sum(x), so no per-lane correction is left.
//
// Prepared activation layout, per block of 32 elements, 64 bytes:
//   [0,32) int8 elements; [32,36) float d_x; [36,40) int32 -8 * sum_x; the rest unused.
#include <cstring>

#include "kernels/activation_quant.h"
#include "kernels/avx512/kernels_avx512.h"
#include "kernels/avx512/simd_util.h"
#include "tensor/q4_0_interleave.h"
#include "tensor/quant_blocks.h"

namespace limarp::kernels::avx512 {
namespace {

constexpr size_t kActBytes = 64;

size_t bytes(int64_t n) { return static_cast<size_t>(n / kQK) * kActBytes; }

void prepare(const float* x, int64_t n, uint8_t* out) {
  for (int64_t b = 0; b < n / kQK; ++b) {
    uint8_t* o = out + b * kActBytes;
    const ActBlock a = quantize_act_block(x + b * kQK, reinterpret_cast<int8_t*>(o));
    const int32_t offset = -8 * a.sum;
    std::memcpy(o + 32, &a.d, 4);
    std::memcpy(o + 36, &offset, 4);
    std::memset(o + 40, 0, kActBytes - 40);
  }
}

inline __m512i broadcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// One block column of 16 rows against one token's prepared block: 16 row sums, scaled.
inline __m512 block_dot(const __m512i lo[4], const __m512i hi[4], const uint8_t* x) {
  __m512i s[4];
  for (int j = 0; j < 4; ++j) {
    s[j] = _mm512_dpbusd_epi32(j == 0 ? broadcast4(x + 36) : _mm512_setzero_si512(), lo[j], broadcast4(x + 4 * j));
    s[j] = _mm512_dpbusd_epi32(s[j], hi[j], broadcast4(x + 16 + 4 * j));
  }
  const __m512i sum = _mm512_add_epi32(_mm512_add_epi32(s[0], s[1]), _mm512_add_epi32(s[2], s[3]));
  float dx;
  std::memcpy(&dx, x + 32, 4);
  return _mm512_mul_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(dx));
}

// 16 rows × TB tokens. One token alternates two accumulators between block columns so
// consecutive columns do not wait on each other's multiply-add.
template <int TB>
void group(float* y, int64_t ldy, const uint8_t* w, const uint8_t* px, size_t ldx, int64_t blocks) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  constexpr int kAccs = TB == 1 ? 2 : 1;
  __m512 acc[kAccs][TB];
  for (int a = 0; a < kAccs; ++a)
    for (int t = 0; t < TB; ++t) acc[a][t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* col = w + b * kQ4_0R16BlockBytes;
    for (int line = 0; line < 5; ++line) prefetch_ahead(col + 64 * line);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(col)));
    __m512i lo[4], hi[4];
    for (int j = 0; j < 4; ++j) {
      const __m512i q = _mm512_loadu_si512(col + 32 + 64 * j);
      lo[j] = _mm512_and_si512(q, m4);
      hi[j] = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
    }
    for (int t = 0; t < TB; ++t) {
      __m512& a = acc[kAccs == 2 ? b % 2 : 0][t];
      a = _mm512_fmadd_ps(block_dot(lo, hi, px + t * ldx + b * kActBytes), dw, a);
    }
  }
  for (int t = 0; t < TB; ++t)
    _mm512_storeu_ps(y + t * ldy, kAccs == 2 ? _mm512_add_ps(acc[0][t], acc[kAccs - 1][t]) : acc[0][t]);
}

// w is the first row of a group; rows is a multiple of 16 (the model repacks only such matrices).
void tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
          int64_t tokens, int64_t n) {
  for (int64_t r = 0; r < rows; r += kQ4_0R16Rows)
    for (int64_t t0 = 0; t0 < tokens; t0 += 4)
      dispatch_tokens<4>(std::min<int64_t>(4, tokens - t0), [&]<int TB>() {
        group<TB>(y + t0 * ldy + r, ldy, w + r * ldw, px + t0 * ldx, ldx, n / kQK);
      });
}

}  // namespace

const WeightKernel kQ4_0R16 = {"q4_0r16/avx512", DType::kQ4_0R16, Isa::kAvx512, kQK, bytes, prepare, tile};

}  // namespace limarp::kernels::avx512
