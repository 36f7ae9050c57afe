// Q6_K in the 16-row interleaved layout (tensor/row_interleave.h) × int8 activations, with
// AVX-512 VNNI: a vector lane is a row. The stored kernel (q6_k.cc) works on one row at a time,
// so per super-block it spreads that row's sixteen scales over the lanes with permutations and
// ends each row with a horizontal sum; here one 64-byte load holds four bytes of every row, so
// the sixteen rows' low-bit and high-bit code bytes rebuild four code vectors with a few masks
// and shifts, each meets a broadcast of four activations in VPDPBUSD, and a sub-block's scale is
// one byte of a lane, sign-extended in place (bench/kernels_bench kernel_compute/q6_k).
//
// Per row: y = d * dx * Σ_s sc_s * (Σ_i q_i xq_i - 32 Σ_i xq_i) over the sixteen sub-blocks s
// of 16, with one activation scale dx per super-block (kernels/super_act.h): the offset 32 starts
// each sub-block's sum from the activations' sum of 16, the scale multiplies it in integers
// (at most 16 x 32 x 128 x 128 per sub-block, 2^27 per super-block), and only the super-block's
// sum converts to float. Its twin is q6_kr16-super/scalar, the same integer sums.
//
// Codes of half h (elements 128h..128h + 127), for l < 32, as in the stored format:
//   element 128h + l      low nibble of ql[64h + l]      | bits 0-1 of qh[32h + l] << 4
//   element 128h + l + 32 low nibble of ql[64h + l + 32] | bits 2-3 of qh[32h + l] << 4
//   element 128h + l + 64 high nibble of ql[64h + l]     | bits 4-5 of qh[32h + l] << 4
//   element 128h + l + 96 high nibble of ql[64h + l + 32] | bits 6-7 of qh[32h + l] << 4
#include "kernels/cpu/x86/avx512/kernels_avx512.h"
#include "kernels/cpu/x86/avx512/simd_util.h"
#include "kernels/cpu/x86/avx512/super_interleaved.h"
#include "kernels/super_act.h"
#include "tensor/row_interleave.h"

namespace limarp::kernels::avx512 {
namespace {

// Inside a super-block column of a 16-row group: the sixteen d, then 64-byte groups of four
// bytes per row: ql in groups 0-31, qh in 32-47, the scales in 48-51.
constexpr int kFirstGroup = 32;
constexpr int kQl = 0, kQh = 32, kScaleGroups = 48;
constexpr int64_t kColumn = 16 * 210;

inline const uint8_t* group_at(const uint8_t* col, int g) { return col + kFirstGroup + 64 * g; }

// Byte k (0..3) of every lane, sign-extended to 32 bits.
inline __m512i lane_int8(__m512i v, int k) { return _mm512_srai_epi32(_mm512_slli_epi32(v, 24 - 8 * k), 24); }

// One group of 16 rows against TB tokens, for super_interleaved.h's tile.
struct Groups {
  template <int TB>
  static void run(float* y, int64_t ldy, const uint8_t* w, const uint8_t* px, size_t ldx, int64_t supers);
};

template <int TB>
void Groups::run(float* y, int64_t ldy, const uint8_t* w, const uint8_t* px, size_t ldx, int64_t supers) {
  const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
  __m512 acc[TB];
  for (int t = 0; t < TB; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < supers; ++i) {
    const uint8_t* col = w + i * kColumn;
    const uint8_t* xs[TB];
    for (int t = 0; t < TB; ++t) xs[t] = px + t * ldx + i * kSuperActBytes;
    __m512i total[TB];
    for (int t = 0; t < TB; ++t) total[t] = _mm512_setzero_si512();
    for (int h = 0; h < 2; ++h)
      for (int quarter = 0; quarter < 2; ++quarter) {
        // Sub-blocks 8h + quarter + {0, 2, 4, 6}: elements 128h + 16 quarter + {0, 32, 64, 96}
        // + 0..15, from ql groups 16h + 4 quarter (+8) and qh groups 8h + 4 quarter, four each.
        const int ql0 = kQl + 16 * h + 4 * quarter, qh0 = kQh + 8 * h + 4 * quarter;
        // A quarter of the column's lines per step: a burst of all 53 would fill the line-fill
        // buffers and stall.
        const int part = 2 * h + quarter;
        for (int64_t off = part * kColumn / 4; off < (part + 1) * kColumn / 4; off += 64) prefetch_ahead(col + off);
        __m512i sums[4][TB];
        for (int c = 0; c < 4; ++c) {
          const int sub = 8 * h + quarter + 2 * c;
          for (int t = 0; t < TB; ++t) {
            int16_t s16;
            std::memcpy(&s16, xs[t] + kSuperActSums16 + 2 * sub, 2);
            sums[c][t] = _mm512_set1_epi32(-32 * static_cast<int32_t>(s16));
          }
        }
        for (int g = 0; g < 4; ++g) {
          const __m512i a = _mm512_loadu_si512(group_at(col, ql0 + g));
          const __m512i b = _mm512_loadu_si512(group_at(col, ql0 + 8 + g));
          const __m512i q = _mm512_loadu_si512(group_at(col, qh0 + g));
          // 0xF8 = A | (B & C): the low part, then the two high bits already in place.
          const __m512i u[4] = {
              _mm512_ternarylogic_epi32(_mm512_and_si512(a, m4), _mm512_slli_epi16(q, 4), m30, 0xF8),
              _mm512_ternarylogic_epi32(_mm512_and_si512(b, m4), _mm512_slli_epi16(q, 2), m30, 0xF8),
              _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(a, 4), m4), q, m30, 0xF8),
              _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(b, 4), m4), _mm512_srli_epi16(q, 2), m30,
                                        0xF8)};
          const int e = 128 * h + 16 * quarter + 4 * g;
          for (int t = 0; t < TB; ++t)
            for (int c = 0; c < 4; ++c)
              sums[c][t] = _mm512_dpbusd_epi32(sums[c][t], u[c], broadcast4(xs[t] + e + 32 * c));
        }
        for (int c = 0; c < 4; ++c) {
          const int sub = 8 * h + quarter + 2 * c;
          const __m512i sc = lane_int8(_mm512_loadu_si512(group_at(col, kScaleGroups + sub / 4)), sub % 4);
          for (int t = 0; t < TB; ++t) total[t] = _mm512_add_epi32(total[t], _mm512_mullo_epi32(sums[c][t], sc));
        }
      }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(col)));
    for (int t = 0; t < TB; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total[t]), _mm512_mul_ps(d, broadcast_float(xs[t] + kSuperActScale)),
                               acc[t]);
  }
  for (int t = 0; t < TB; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

}  // namespace

constinit const WeightKernel kQ6_KR16 = super_interleaved_kernel<Groups>("q6_kr16/avx512", DType::kQ6_K);

}  // namespace limarp::kernels::avx512
