// Element-wise transcendental functions over arrays, vectorised: softmax rows in attention
// and cross-entropy spend most of their time in exp. The AVX-512 version reduces
// x = n·ln2 + r (|r| <= ln2/2), evaluates a degree-6 polynomial for e^r and scales by 2^n
// (VSCALEFPS), within 2 ulp of std::exp over float's range; the scalar twin calls std::exp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace limarp::kernels {

// x[i] = exp(x[i] - shift)
void exp_shifted_inplace(float* x, float shift, int64_t n);
void exp_shifted_inplace_scalar(float* x, float shift, int64_t n);

// max x[i] (n >= 1), and sum x[i] accumulated in double — reductions for softmax rows. The
// AVX-512 versions keep 16 partial results and combine them in a fixed order.
float max_f32(const float* x, int64_t n);
double sum_f32(const float* x, int64_t n);
float max_f32_scalar(const float* x, int64_t n);
double sum_f32_scalar(const float* x, int64_t n);

// Wrapping sum of n 64-bit words: the memory-bandwidth probe's read loop. The AVX-512 version
// reads whole cache lines per load with four independent accumulators, as fast as the memory
// delivers; the scalar loop's narrower loads measured 25 % below that on the project machine.
uint64_t sum_u64(const uint64_t* p, size_t n);
uint64_t sum_u64_scalar(const uint64_t* p, size_t n);

}  // namespace limarp::kernels
