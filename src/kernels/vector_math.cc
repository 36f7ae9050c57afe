#include "kernels/vector_math.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/registry.h"

namespace limarp::kernels {

void exp_shifted_inplace_scalar(float* x, float shift, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i] - shift);
}

void exp_shifted_inplace(float* x, float shift, int64_t n) { active_level().exp_shifted_inplace(x, shift, n); }

float max_f32(const float* x, int64_t n) { return active_level().max_f32(x, n); }

double sum_f32(const float* x, int64_t n) { return active_level().sum_f32(x, n); }

float max_f32_scalar(const float* x, int64_t n) {
  float m = x[0];
  for (int64_t i = 1; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

double sum_f32_scalar(const float* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}

uint64_t sum_u64_scalar(const uint64_t* p, size_t n) {
  // Eight independent chains, so the loads are never serialised on one adder.
  uint64_t acc[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t j = 0; j < 8; ++j) acc[j] += p[i + j];
  for (; i < n; ++i) acc[0] += p[i];
  uint64_t s = 0;
  for (uint64_t a : acc) s += a;
  return s;
}

uint64_t sum_u64(const uint64_t* p, size_t n) { return active_level().sum_u64(p, n); }

}  // namespace limarp::kernels
