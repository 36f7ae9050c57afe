// Integer weight kernels for AArch64 against int8 activations with one scale per block of 32
// (cpu/generic/int_act.h, the scalar twins' layout, so each kernel's twin is the scalar kernel
// of its type): Q8_0, Q4_0, Q4_K and Q6_K on their stored blocks. The algorithms are written
// once, over a Dot policy that adds the products of 16 int8 pairs into four int32 lanes:
// neon/ widens with SMULL and pairwise-adds (SADALP), dotprod/ uses SDOT. Each level's folder
// instantiates them in its own file with its own flags; the anonymous namespace gives every
// instantiation internal linkage, so the linker never mixes the two builds.
//
// Per block the integer dot is exact; floats enter once per block (Q8_0, Q4_0), per sub-block of
// 32 (Q4_K) or per block of 32 (Q6_K, whose two sub-blocks' scales apply in integers first).
#pragma once

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "kernels/cpu/generic/int_act.h"
#include "tensor/quant_blocks.h"

namespace limarp::kernels::arm {
namespace {

inline float half_to_float(uint16_t h) {
  float16_t f;
  std::memcpy(&f, &h, sizeof f);
  return static_cast<float>(f);
}

template <class Dot>
inline int32_t dot32(const int8x16_t w0, const int8x16_t w1, const int8_t* x) {
  int32x4_t acc = Dot::dot(vdupq_n_s32(0), w0, vld1q_s8(x));
  acc = Dot::dot(acc, w1, vld1q_s8(x + 16));
  return vaddvq_s32(acc);
}

template <class Dot>
float dot_q8_0(const uint8_t* w, const IntActView& a, int64_t n) {
  const auto* b = reinterpret_cast<const BlockQ8_0*>(w);
  float acc = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    const int32_t s = dot32<Dot>(vld1q_s8(b[i].qs), vld1q_s8(b[i].qs + 16), a.q + i * kQK);
    acc += half_to_float(b[i].d) * (a.d[i] * static_cast<float>(s));
  }
  return acc;
}

template <class Dot>
float dot_q4_0(const uint8_t* w, const IntActView& a, int64_t n) {
  const auto* b = reinterpret_cast<const BlockQ4_0*>(w);
  const uint8x16_t low = vdupq_n_u8(0x0F);
  float acc = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    // Codes 0..15 as int8: element j in byte j's low nibble, element j + 16 in its high one.
    const uint8x16_t q = vld1q_u8(b[i].qs);
    const int32_t s = dot32<Dot>(vreinterpretq_s8_u8(vandq_u8(q, low)), vreinterpretq_s8_u8(vshrq_n_u8(q, 4)),
                                 a.q + i * kQK);
    acc += half_to_float(b[i].d) * (a.d[i] * static_cast<float>(s - 8 * a.sum[i]));
  }
  return acc;
}

template <class Dot>
float dot_q4_k(const uint8_t* w, const IntActView& a, int64_t n) {
  const auto* b = reinterpret_cast<const BlockQ4_K*>(w);
  const uint8x16_t low = vdupq_n_u8(0x0F);
  float acc = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = half_to_float(b[i].d), dmin = half_to_float(b[i].dmin);
    for (int pair = 0; pair < 4; ++pair) {
      // Sub-blocks 2·pair (low nibbles) and 2·pair + 1 (high nibbles) share 32 bytes of codes.
      const uint8x16_t q0 = vld1q_u8(b[i].qs + 32 * pair), q1 = vld1q_u8(b[i].qs + 32 * pair + 16);
      for (int half = 0; half < 2; ++half) {
        const int j = 2 * pair + half;
        const int8x16_t c0 = vreinterpretq_s8_u8(half ? vshrq_n_u8(q0, 4) : vandq_u8(q0, low));
        const int8x16_t c1 = vreinterpretq_s8_u8(half ? vshrq_n_u8(q1, 4) : vandq_u8(q1, low));
        uint8_t sc, mn;
        k_scale_min(j, b[i].scales, &sc, &mn);
        const int64_t blk = i * 8 + j;
        const int32_t s = dot32<Dot>(c0, c1, a.q + blk * 32);
        acc += d * sc * a.d[blk] * static_cast<float>(s) - dmin * mn * a.d[blk] * static_cast<float>(a.sum[blk]);
      }
    }
  }
  return acc;
}

// Sixteen six-bit codes (0..63): four low bits from ql (low or high nibble), two from qh at bit
// `shift`, as in the scalar twin's q6_k_codes.
inline int8x16_t q6_codes(uint8x16_t ql, bool high_nibble, uint8x16_t qh, int shift) {
  const uint8x16_t lo = high_nibble ? vshrq_n_u8(ql, 4) : vandq_u8(ql, vdupq_n_u8(0x0F));
  const uint8x16_t hi = vandq_u8(vshlq_u8(qh, vdupq_n_s8(static_cast<int8_t>(4 - shift))), vdupq_n_u8(0x30));
  return vreinterpretq_s8_u8(vorrq_u8(lo, hi));
}

template <class Dot>
float dot_q6_k(const uint8_t* w, const IntActView& a, int64_t n) {
  const auto* b = reinterpret_cast<const BlockQ6_K*>(w);
  float acc = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = half_to_float(b[i].d);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = b[i].ql + 64 * h;
      const uint8_t* qh = b[i].qh + 32 * h;
      // Quarter k of this half holds elements 32k..32k+31: ql bytes [0,32) or [32,64) (low
      // nibbles for k < 2), qh bits 2k, 2k + 1.
      for (int k = 0; k < 4; ++k) {
        const uint8_t* l = ql + 32 * (k % 2);
        const int64_t e = i * kQK_K + 128 * h + 32 * k;  // first element; one activation block
        const int8_t* x = a.q + e;
        int32_t sum = 0;
        for (int part = 0; part < 2; ++part) {  // sub-blocks of 16
          const int8x16_t codes = q6_codes(vld1q_u8(l + 16 * part), k >= 2, vld1q_u8(qh + 16 * part), 2 * k);
          const int8x16_t xv = vld1q_s8(x + 16 * part);
          const int32_t dot = vaddvq_s32(Dot::dot(vdupq_n_s32(0), codes, xv));
          const int32_t sx = vaddlvq_s8(xv);
          sum += b[i].scales[(e % kQK_K) / 16 + part] * (dot - 32 * sx);
        }
        acc += d * a.d[e / kActBlock] * static_cast<float>(sum);
      }
    }
  }
  return acc;
}

// Rows of stored blocks against prepared rows, as the scalar twins' tile walks them.
template <float (*kDot)(const uint8_t*, const IntActView&, int64_t)>
void int_tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px, size_t ldx,
              int64_t tokens, int64_t n) {
  for (int64_t t = 0; t < tokens; ++t) {
    const IntActView a = int_act_view(px + t * ldx, n);
    for (int64_t r = 0; r < rows; ++r) y[t * ldy + r] = kDot(w + r * ldw, a, n);
  }
}

}  // namespace
}  // namespace limarp::kernels::arm
