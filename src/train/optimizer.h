// The optimizer of a training run: AdamW over a ParameterSet (PyTorch semantics, see
// kernels/adamw.h), with gradient clipping by global norm as torch.nn.utils.clip_grad_norm_
// does it. Its state (moments and step count) is part of every checkpoint.
#pragma once

#include <cstdint>
#include <vector>

#include "base/thread_pool.h"
#include "model/parameters.h"

namespace limarp::train {

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0;  // decoupled; parameters with weight_decay == false are exempt
};

class AdamW {
 public:
  AdamW(ParameterSet& params, AdamWOptions options);

  // One update with learning rate lr from the parameters' gradients.
  void step(double lr, ThreadPool& pool);
  int64_t steps_taken() const { return step_; }

  // State for checkpoints: first and second moments per parameter, in parameter order.
  Tensor& m(size_t i) { return m_[i]; }
  Tensor& v(size_t i) { return v_[i]; }
  void set_steps_taken(int64_t step) { step_ = step; }

 private:
  ParameterSet& params_;
  AdamWOptions options_;
  std::vector<Tensor> m_, v_;
  int64_t step_ = 0;
};

// Scales all gradients so their global L2 norm is at most max_norm (when max_norm > 0), as
// torch does: factor = min(1, max_norm / (norm + 1e-6)). Returns the norm before clipping.
double clip_grad_norm(ParameterSet& params, double max_norm);

}  // namespace limarp::train
