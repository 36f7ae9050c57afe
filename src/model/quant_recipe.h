// Which type each tensor gets when a model is converted or quantized: one type for every
// matrix ("q4_0"), or a mixed recipe that spends more bits where errors hurt most ("q4_k_m":
// q6_k for the output matrix and for attn_v / ffn_down in the first and last eighth of the
// layers and every third layer between, q4_k elsewhere). Norms always stay f32.
#pragma once

#include <string>

#include "base/status.h"
#include "tensor/dtype.h"

namespace limarp {

class QuantRecipe {
 public:
  static Result<QuantRecipe> parse(const std::string& name);
  static std::string known_names();

  // The type for a canonical (GGUF-named) 2-D tensor of a model with n_layers layers.
  DType type_for(const std::string& canonical_name, int64_t n_layers) const;
  const std::string& name() const { return name_; }
  bool mixed() const { return mixed_; }
  DType base_type() const { return base_; }

 private:
  std::string name_;
  DType base_ = DType::kF32;
  bool mixed_ = false;
};

}  // namespace limarp
