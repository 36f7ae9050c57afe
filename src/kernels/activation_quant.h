// Activation quantization shared by every integer kernel: blocks of 32 (or 256) floats become
// int8 values q = round(x / d) with d = max|x| / 127, plus the block's scale and the sum of its q
// (kernels on unsigned weight codes subtract offset * sum). One definition, so every level's
// kernel and its scalar twin see identical integers.
#pragma once

#include <cmath>
#include <cstdint>

namespace limarp::kernels {

constexpr int kActBlock = 32;

struct ActBlock {
  float d;
  int32_t sum;
};

// nearbyint for |v| <= 127 in the default rounding mode, inline: adding 1.5 x 2^23 moves v into
// the binade whose spacing is 1, so the addition itself rounds (to nearest, ties to even) and
// the subtraction is exact. std::nearbyint is a library call per element on baseline x86-64
// and kept these loops scalar (kernels_bench prepare_act). Relies on ISO C++'s
// -ffp-contract=off (CMAKE_CXX_EXTENSIONS OFF): a fused x * id + C would skip a rounding.
inline float round_half_even(float v) {
  constexpr float kShift = 12582912.0f;  // 1.5 x 2^23
  return (v + kShift) - kShift;
}

// Quantizes N floats with one scale; N is 32 for most kernels, 256 where a kernel multiplies
// weight scales in integers (one activation scale per K-quant super-block).
template <int N>
inline ActBlock quantize_act(const float* x, int8_t* q) {
  float amax = 0;
  // A compare, not std::fmax: the same value for every input (a NaN is skipped either way), but
  // std::fmax is a library call per element, about 1 % of a 7B model's decode time.
  for (int i = 0; i < N; ++i) {
    const float a = std::fabs(x[i]);
    amax = a > amax ? a : amax;
  }
  const float d = amax / 127.0f;
  const float id = d > 0 ? 127.0f / amax : 0.0f;
  int32_t sum = 0;
  for (int i = 0; i < N; ++i) {
    const int v = static_cast<int>(round_half_even(x[i] * id));
    q[i] = static_cast<int8_t>(v);
    sum += v;
  }
  return {d, sum};
}

inline ActBlock quantize_act_block(const float* x, int8_t* q) { return quantize_act<kActBlock>(x, q); }

inline size_t round_up_64(size_t n) { return (n + 63) / 64 * 64; }

}  // namespace limarp::kernels
