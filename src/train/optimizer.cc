#include "train/optimizer.h"

#include "kernels/adamw.h"

namespace limarp::train {

AdamW::AdamW(ParameterSet& params, AdamWOptions options) : params_(params), options_(options) {
  for (size_t i = 0; i < params.size(); ++i) {
    m_.emplace_back(DType::kF32, params[i].value.shape());
    v_.emplace_back(DType::kF32, params[i].value.shape());
  }
}

void AdamW::step(double lr, ThreadPool& pool) {
  ++step_;
  // Element updates are independent: split each parameter into fixed chunks across threads.
  constexpr int64_t kChunk = 1 << 14;
  for (size_t i = 0; i < params_.size(); ++i) {
    Parameter& p = params_[i];
    kernels::AdamWStep s{lr, options_.beta1, options_.beta2, options_.eps,
                         p.weight_decay ? options_.weight_decay : 0.0, step_};
    const int64_t n = p.value.elements();
    float* value = p.value.f32();
    float* m = m_[i].f32();
    float* v = v_[i].f32();
    const float* g = p.grad.f32();
    auto body = [&](int64_t begin, int64_t end) {
      kernels::adamw_update(value + begin, m + begin, v + begin, g + begin, end - begin, s);
    };
    if (n <= kChunk) body(0, n);
    else pool.parallel_for(n, kChunk, body);
  }
}

double clip_grad_norm(ParameterSet& params, double max_norm) {
  const double norm = params.grad_norm();
  if (max_norm > 0) {
    const double factor = max_norm / (norm + 1e-6);
    if (factor < 1.0) params.scale_grads(static_cast<float>(factor));
  }
  return norm;
}

}  // namespace limarp::train
