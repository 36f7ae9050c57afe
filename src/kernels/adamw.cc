#include "kernels/adamw.h"

#include <cmath>

namespace limarp::kernels {

void adamw_update(float* param, float* m, float* v, const float* grad, int64_t n, const AdamWStep& s) {
  const auto decay = static_cast<float>(1.0 - s.lr * s.weight_decay);
  const auto b1 = static_cast<float>(s.beta1), one_minus_b1 = static_cast<float>(1.0 - s.beta1);
  const auto b2 = static_cast<float>(s.beta2), one_minus_b2 = static_cast<float>(1.0 - s.beta2);
  const double bias1 = 1.0 - std::pow(s.beta1, static_cast<double>(s.step));
  const double bias2 = 1.0 - std::pow(s.beta2, static_cast<double>(s.step));
  const auto neg_step_size = static_cast<float>(-(s.lr / bias1));
  const auto bias2_sqrt = static_cast<float>(std::sqrt(bias2));
  const auto eps = static_cast<float>(s.eps);
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    float p = param[i];
    if (s.weight_decay != 0) p *= decay;               // param.mul_(1 - lr * wd)
    m[i] = m[i] * b1 + g * one_minus_b1;               // exp_avg.mul_(b1).add_(g, alpha=1-b1)
    v[i] = v[i] * b2 + one_minus_b2 * g * g;           // exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2)
    const float denom = std::sqrt(v[i]) / bias2_sqrt + eps;
    param[i] = p + neg_step_size * m[i] / denom;       // param.addcdiv_(m, denom, value=-step_size)
  }
}

}  // namespace limarp::kernels
