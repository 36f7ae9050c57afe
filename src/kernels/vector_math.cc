#include "kernels/vector_math.h"

#include <cmath>

#include "kernels/cpu_features.h"

namespace limarp::kernels {

namespace avx512 {
void exp_shifted_inplace(float* x, float shift, int64_t n);
}

void exp_shifted_inplace_scalar(float* x, float shift, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i] - shift);
}

void exp_shifted_inplace(float* x, float shift, int64_t n) {
  if (active_isa() == Isa::kAvx512) avx512::exp_shifted_inplace(x, shift, n);
  else exp_shifted_inplace_scalar(x, shift, n);
}

}  // namespace limarp::kernels
