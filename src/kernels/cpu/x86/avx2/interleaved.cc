// Q4_0, Q8_0 and Q4_K in the 16-row interleaved layout (tensor/row_interleave.h) × int8 activations,
// with AVX2: a 32-bit lane is a row, sixteen rows are two 8-lane halves. Per block column each
// half's eight scales convert with one instruction and its codes unpack once for the tokens of
// the tile; each code vector meets a broadcast of four activations in VPMADDUBSW (four bytes of
// a lane into two 16-bit sums) and VPMADDWD (into the lane's 32-bit dot). The stored-layout
// kernel instead rebuilds one row's block per step and ends each row with a horizontal sum.
//   Q4_0: codes are unsigned nibbles (at most 15 x 127 per pair), so a column's eight products
//   add up in 16 bits (at most 30480) before one VPMADDWD; the offset 8 enters as -8 * sum(x).
//   Q8_0: signed codes, multiplied as |q| times x with q's sign (VPSIGNB), at most 2 x 128 x 127
//   per pair; each vector goes to 32 bits on its own.
//   Q4_K: below, next to its kernel.
// Prepared activation rows: kernels/interleaved_act.h.
#include "kernels/cpu/x86/avx2/kernels_avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/interleaved_act.h"
#include "kernels/super_act.h"
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
  if constexpr (kType == DType::kQ4_0) {
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

// 16 rows × TB tokens, both halves of a block column before the next column. Half by half (the
// second pass reading the group again from L2) left memory idle during that pass: 7B decode on a
// Zen 3 VM ran 1.2-1.35x faster this way (Q4_0 5.0-5.5 -> 6.3-7.1 tok/s, Q8_0 2.7-2.8 -> 3.4-3.6).
template <DType kType, int TB>
void group(float* y, int64_t ldy, const uint8_t* w, const uint8_t* px, size_t ldx, int64_t blocks) {
  const int64_t column = static_cast<int64_t>(interleaved_column_bytes(kType));
  __m256 acc[2][TB];
  for (int h = 0; h < 2; ++h)
    for (int t = 0; t < TB; ++t) acc[h][t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* col = w + b * column;
    for (int64_t line = 0; line < column; line += 64) {
      if constexpr (kType == DType::kQ8_0) {
        // Q8_0 computes at about three times the bandwidth one core gets, and the L2 hint far
        // ahead only competed with the hardware prefetcher: without it, 7B decode on Zen 3 ran
        // 1.12x faster (3.55 -> 3.97 tok/s, alternated; Q4_0 measured slower without it).
        _mm_prefetch(reinterpret_cast<const char*>(col + line) + 2048, _MM_HINT_T0);
      } else {
        _mm_prefetch(reinterpret_cast<const char*>(col + line) + 1024, _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(col + line) + 8192, _MM_HINT_T1);
      }
    }
    half_column<kType, TB>(acc[0], col, 0, px, ldx, b);
    half_column<kType, TB>(acc[1], col, 1, px, ldx, b);
  }
  for (int h = 0; h < 2; ++h)
    for (int t = 0; t < TB; ++t) _mm256_storeu_ps(y + t * ldy + 8 * h, acc[h][t]);
}

// Q4_K: a super-block column is 16 d, 16 dmin, three vectors of the rows' packed scale bytes and
// 32 code vectors (tensor/row_interleave.h); activations carry one scale per super-block
// (kernels/super_act.h). Per half, the six-bit scales and mins unpack with the stored
// kernels' 32-bit masks on eight lanes at once. Sub-blocks go in pairs: code vector v of pair p
// holds sub-block 2p's codes in its low nibbles and 2p + 1's in its high ones, so each is loaded
// once for both; eight products of a sub-block add up in 16 bits (at most 30480), and one
// VPMADDWD with the sub-block's scale in both 16-bit halves of each lane takes them to 32 bits
// (at most 8 x 63 x 60960 per super-block in all). The mins meet the activations' sub-block sums
// in VPMADDWD too, so a half ends with one conversion each for its sums and mins: with a float
// scale per sub-block, the conversions and scale products were a quarter of the kernel's work.
// Every index is a template argument, so shifts and offsets are immediates (as a loop, the
// compiler kept the sub-block index in a register and recomputed every address).
constexpr int kQ4KCodes = 256;
constexpr int64_t kQ4KColumn = 16 * 144;

// Bytes K0 and K1 of every lane, zero-extended into its two 16-bit halves.
template <int K0, int K1>
inline __m256i lane_bytes16(__m256i v) {
  auto lane = [](int i) {
    return static_cast<int32_t>(static_cast<uint32_t>(4 * i + K0) | 0x8000u | static_cast<uint32_t>(4 * i + K1) << 16 |
                                0x80000000u);
  };
  return _mm256_shuffle_epi8(
      v, _mm256_setr_epi32(lane(0), lane(1), lane(2), lane(3), lane(0), lane(1), lane(2), lane(3)));
}

// broadcast4 as its own load, every time: both halves of a column use the same activation
// broadcasts, and GCC kept each one from the first half for the second, which with 16 vector
// registers meant a stack store and reload per broadcast (llvm-mca for znver3: the vector load
// and store pipes bound the loop at about 225 cycles per column; about 190 without the spills).
inline __m256i broadcast4_load(const uint8_t* p) {
  __m256i v;
  asm volatile("vpbroadcastd %1, %0" : "=x"(v) : "m"(*reinterpret_cast<const int32_t*>(p)));
  return v;
}

// This half's 32 bytes of a Q4_K column's 64-byte vector at byte `offset`.
inline __m256i q4_k_load(const uint8_t* col, int h, int offset) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(col + offset + 32 * h));
}

// Sub-blocks 2P and 2P + 1 of one super-block column half against TB tokens: sums[t] += each
// sub-block's integer dot times its scale. sc4: the scales of sub-blocks 4(P / 2)..4(P / 2) + 3.
template <int P, int TB>
inline void q4_k_pair(__m256i sums[TB], const uint8_t* col, int h, __m256i sc4, const uint8_t* const xs[TB]) {
  const __m256i lo4 = _mm256_set1_epi8(0x0F);
  __m256i lo[TB], hi[TB];
  for (int v = 0; v < 8; ++v) {
    const __m256i q = q4_k_load(col, h, kQ4KCodes + 512 * P + 64 * v);
    const __m256i ql = _mm256_and_si256(q, lo4), qh = _mm256_and_si256(_mm256_srli_epi16(q, 4), lo4);
    for (int t = 0; t < TB; ++t) {
      const __m256i pl = _mm256_maddubs_epi16(ql, broadcast4_load(xs[t] + 64 * P + 4 * v));
      const __m256i ph = _mm256_maddubs_epi16(qh, broadcast4_load(xs[t] + 64 * P + 32 + 4 * v));
      lo[t] = v == 0 ? pl : _mm256_add_epi16(lo[t], pl);
      hi[t] = v == 0 ? ph : _mm256_add_epi16(hi[t], ph);
      // Pins each partial sum in a register here: unconstrained, GCC 12 computed all sixteen
      // products first and spilled them (measured: 1.2-1.7x slower, 114 stack accesses).
      asm("" : "+x"(lo[t]), "+x"(hi[t]));
    }
  }
  constexpr int kA = (2 * P) % 4, kB = (2 * P + 1) % 4;  // the pair's bytes of sc4
  const __m256i sc_a = lane_bytes16<kA, kA>(sc4), sc_b = lane_bytes16<kB, kB>(sc4);
  for (int t = 0; t < TB; ++t) {
    const __m256i pair = _mm256_add_epi32(_mm256_madd_epi16(lo[t], sc_a), _mm256_madd_epi16(hi[t], sc_b));
    sums[t] = _mm256_add_epi32(sums[t], pair);
  }
}

// Step s (0..8) of a column's 36 lines, four lines each: step 0 at the column's start, steps
// 4H + 1..4H + 4 before half H's four pairs. All at once at the column's start, they stalled on
// the line-fill buffers (measured on AVX-512). Prompt tiles issue steps 0-4 only (prefetching
// the rest in their first pass too measured no faster).
inline void q4_k_prefetch(const uint8_t* col, int step) {
  for (int64_t line = step * 256; line < std::min<int64_t>(kQ4KColumn, step * 256 + 256); line += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(col + line) + 1024, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(col + line) + 8192, _MM_HINT_T1);
  }
}

// Half H (rows 8H..8H+7) of super-block column i: acc[t] += the eight rows' dots for token t.
// kPrefetch: issue the column's prefetches, spread over the pairs.
template <int H, int TB, bool kPrefetch>
inline void q4_k_half(__m256 acc[TB], const uint8_t* col, const uint8_t* px, size_t ldx, int64_t i) {
  const __m256i m6 = _mm256_set1_epi32(0x3f3f3f3f), m4 = _mm256_set1_epi32(0x0f0f0f0f);
  const __m256i top = _mm256_set1_epi32(0x30303030);
  const __m256i s0 = q4_k_load(col, H, 64), s1 = q4_k_load(col, H, 128), s2 = q4_k_load(col, H, 192);
  // Scales and mins of sub-blocks 0-3 (bytes of sc_lo, mn_lo) and 4-7 (sc_hi, mn_hi).
  const __m256i sc_lo = _mm256_and_si256(s0, m6), mn_lo = _mm256_and_si256(s1, m6);
  const __m256i sc_hi = _mm256_or_si256(_mm256_and_si256(s2, m4), _mm256_and_si256(_mm256_srli_epi32(s0, 2), top));
  const __m256i mn_hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(s2, 4), m4),
                                        _mm256_and_si256(_mm256_srli_epi32(s1, 2), top));
  const uint8_t* xs[TB];
  __m256i sums[TB], mins[TB];
  for (int t = 0; t < TB; ++t) {
    xs[t] = px + t * ldx + i * kSuperActBytes;
    const uint8_t* xsum = xs[t] + kSuperActSums32;  // int16 sums of sub-blocks 0..7, two per broadcast
    mins[t] = _mm256_add_epi32(
        _mm256_add_epi32(_mm256_madd_epi16(lane_bytes16<0, 1>(mn_lo), broadcast4(xsum)),
                         _mm256_madd_epi16(lane_bytes16<2, 3>(mn_lo), broadcast4(xsum + 4))),
        _mm256_add_epi32(_mm256_madd_epi16(lane_bytes16<0, 1>(mn_hi), broadcast4(xsum + 8)),
                         _mm256_madd_epi16(lane_bytes16<2, 3>(mn_hi), broadcast4(xsum + 12))));
    sums[t] = _mm256_setzero_si256();
  }
  if (kPrefetch) q4_k_prefetch(col, 4 * H + 1);
  q4_k_pair<0, TB>(sums, col, H, sc_lo, xs);
  if (kPrefetch) q4_k_prefetch(col, 4 * H + 2);
  q4_k_pair<1, TB>(sums, col, H, sc_lo, xs);
  if (kPrefetch) q4_k_prefetch(col, 4 * H + 3);
  q4_k_pair<2, TB>(sums, col, H, sc_hi, xs);
  if (kPrefetch) q4_k_prefetch(col, 4 * H + 4);
  q4_k_pair<3, TB>(sums, col, H, sc_hi, xs);
  const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(col + 16 * H)));
  const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(col + 32 + 16 * H)));
  for (int t = 0; t < TB; ++t) {
    const __m256 dx = broadcast_float(xs[t] + kSuperActScale);
    acc[t] = _mm256_fnmadd_ps(_mm256_mul_ps(dmin, dx), _mm256_cvtepi32_ps(mins[t]),
                              _mm256_fmadd_ps(_mm256_mul_ps(d, dx), _mm256_cvtepi32_ps(sums[t]), acc[t]));
  }
}

// 16 rows × TB tokens. One token (decoding): both halves of a super-block column before the
// next, as in group(): 1.08x faster 7B Q4_K_M decode on Zen 3 than half by half. Two tokens
// (prompts): half by half, the second pass from L2: both halves at once kept twice the
// accumulators live and ran prompts at 0.75x.
template <int TB>
void q4_k_group(float* y, int64_t ldy, const uint8_t* w, const uint8_t* px, size_t ldx, int64_t supers) {
  __m256 acc0[TB], acc1[TB];
  for (int t = 0; t < TB; ++t) acc0[t] = acc1[t] = _mm256_setzero_ps();
  if constexpr (TB == 1) {
    for (int64_t i = 0; i < supers; ++i) {
      const uint8_t* col = w + i * kQ4KColumn;
      q4_k_prefetch(col, 0);
      q4_k_half<0, TB, true>(acc0, col, px, ldx, i);
      q4_k_half<1, TB, true>(acc1, col, px, ldx, i);
    }
  } else {
    for (int64_t i = 0; i < supers; ++i) {
      const uint8_t* col = w + i * kQ4KColumn;
      q4_k_prefetch(col, 0);
      q4_k_half<0, TB, true>(acc0, col, px, ldx, i);
    }
    for (int64_t i = 0; i < supers; ++i) q4_k_half<1, TB, false>(acc1, w + i * kQ4KColumn, px, ldx, i);
  }
  for (int t = 0; t < TB; ++t) {
    _mm256_storeu_ps(y + t * ldy, acc0[t]);
    _mm256_storeu_ps(y + t * ldy + 8, acc1[t]);
  }
}

using GroupFn = void (*)(float*, int64_t, const uint8_t*, const uint8_t*, size_t, int64_t);

// w is the first row of a group; rows is a multiple of 16 (the model regroups only such
// matrices). Tiles of up to two tokens: AVX2 has 16 vector registers. kColumnElems: elements
// per block column.
template <GroupFn kOne, GroupFn kTwo, int64_t kColumnElems>
void tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
          int64_t tokens, int64_t n) {
  for (int64_t r = 0; r < rows; r += kInterleaveRows)
    for (int64_t t0 = 0; t0 < tokens; t0 += 2) {
      float* yt = y + t0 * ldy + r;
      const uint8_t* xt = px + t0 * ldx;
      if (tokens - t0 >= 2) kTwo(yt, ldy, w + r * ldw, xt, ldx, n / kColumnElems);
      else kOne(yt, ldy, w + r * ldw, xt, ldx, n / kColumnElems);
    }
}

}  // namespace

const WeightKernel kQ4_KR16 = {"q4_kr16/avx2",
                               DType::kQ4_K,
                               Isa::kAvx2,
                               256,
                               super_act_bytes,
                               prepare_super_act,
                               tile<q4_k_group<1>, q4_k_group<2>, 256>,
                               256,
                               RowLayout::kInterleaved16};
const WeightKernel kQ4_0R16 = {"q4_0r16/avx2",           DType::kQ4_0, Isa::kAvx2, kBlock, interleaved_act_bytes,
                               prepare_interleaved_q4_0, tile<group<DType::kQ4_0, 1>, group<DType::kQ4_0, 2>, kBlock>,
                               32,                       RowLayout::kInterleaved16};
const WeightKernel kQ8_0R16 = {"q8_0r16/avx2",           DType::kQ8_0, Isa::kAvx2, kBlock, interleaved_act_bytes,
                               prepare_interleaved_q8_0, tile<group<DType::kQ8_0, 1>, group<DType::kQ8_0, 2>, kBlock>,
                               32,                       RowLayout::kInterleaved16};

}  // namespace limarp::kernels::avx2
