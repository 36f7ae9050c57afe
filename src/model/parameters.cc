#include "model/parameters.h"

#include <cmath>
#include <cstring>
#include <memory>

namespace limarp {

Parameter* ParameterSet::add(std::string name, Shape shape, bool weight_decay) {
  auto p = std::make_unique<Parameter>();
  p->name = std::move(name);
  p->value = Tensor(DType::kF32, shape);
  p->grad = Tensor(DType::kF32, std::move(shape));
  p->weight_decay = weight_decay;
  params_.push_back(std::move(p));
  return params_.back().get();
}

Parameter* ParameterSet::find(const std::string& name) {
  for (auto& p : params_)
    if (p->name == name) return p.get();
  return nullptr;
}

int64_t ParameterSet::elements() const {
  int64_t n = 0;
  for (const auto& p : params_) n += p->value.elements();
  return n;
}

void ParameterSet::zero_grads() {
  for (auto& p : params_) std::memset(p->grad.bytes(), 0, p->grad.nbytes());
}

double ParameterSet::grad_norm() const {
  double ss = 0;
  for (const auto& p : params_) {
    const float* g = p->grad.f32();
    const int64_t n = p->grad.elements();
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(g[i]) * g[i];
  }
  return std::sqrt(ss);
}

void ParameterSet::scale_grads(float factor) {
  for (auto& p : params_) {
    float* g = p->grad.f32();
    const int64_t n = p->grad.elements();
    for (int64_t i = 0; i < n; ++i) g[i] *= factor;
  }
}

}  // namespace limarp
