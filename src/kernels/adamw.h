// AdamW with PyTorch's semantics (torch.optim.AdamW, single-tensor path): decoupled weight
// decay applied to the parameter first, bias-corrected moments, eps added after the square
// root is divided by sqrt(1 - beta2^step). The scalar factors are computed in double as
// Python computes them, the element updates in float in the same order as torch, so a run
// follows PyTorch's to float rounding.
#pragma once

#include <cstdint>

namespace limarp::kernels {

struct AdamWStep {
  double lr;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0;
  int64_t step;  // 1 for the first update
};

// param, m, v, grad: n floats. m and v start at zero.
void adamw_update(float* param, float* m, float* v, const float* grad, int64_t n, const AdamWStep& s);

}  // namespace limarp::kernels
