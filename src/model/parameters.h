// The tensors a training run updates: each an f32 value with its f32 gradient of the same
// shape, named as it is stored (PEFT names for LoRA factors, canonical GGUF names for full
// training). The optimizer, gradient clipping and checkpoints work on a ParameterSet without
// knowing which kind of training produced it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace limarp {

struct Parameter {
  std::string name;
  Tensor value;               // f32
  Tensor grad;                // f32, same shape; accumulates until zero_grads()
  bool weight_decay = true;   // norms are exempt, as in Hugging Face's Trainer
};

class ParameterSet {
 public:
  // Adds a zero-initialised parameter; the returned pointer stays valid (storage is stable).
  Parameter* add(std::string name, Shape shape, bool weight_decay = true);

  size_t size() const { return params_.size(); }
  Parameter& operator[](size_t i) { return *params_[i]; }
  const Parameter& operator[](size_t i) const { return *params_[i]; }
  Parameter* find(const std::string& name);

  int64_t elements() const;
  void zero_grads();
  // sqrt(sum of squared gradients), summed in double in parameter order.
  double grad_norm() const;
  void scale_grads(float factor);

 private:
  std::vector<std::unique_ptr<Parameter>> params_;
};

}  // namespace limarp
