#include "model/quant_recipe.h"

#include <charconv>

namespace limarp {
namespace {

// Layer index from "blk.N.…", or -1.
int layer_of(const std::string& name) {
  if (!name.starts_with("blk.")) return -1;
  int layer = -1;
  std::from_chars(name.data() + 4, name.data() + name.size(), layer);
  return layer;
}

// The layers that get more bits in a mixed recipe: the first and last eighth, where quantization
// error matters most, and every third layer in between.
bool more_bits(int layer, int64_t n_layers) {
  const int64_t eighth = n_layers / 8;
  return layer < eighth || layer >= 7 * n_layers / 8 || (layer - eighth) % 3 == 2;
}

}  // namespace

Result<QuantRecipe> QuantRecipe::parse(const std::string& name) {
  QuantRecipe r;
  r.name_ = name;
  if (name == "q4_k_m" || name == "Q4_K_M") {
    r.base_ = DType::kQ4_K;
    r.mixed_ = true;
    return r;
  }
  auto t = dtype_from_name(name);
  const bool supported = t && (*t == DType::kF32 || *t == DType::kF16 || *t == DType::kBF16 || *t == DType::kQ8_0 ||
                               *t == DType::kQ4_0 || *t == DType::kQ4_K || *t == DType::kQ6_K || *t == DType::kNF4);
  if (!supported) return make_error("unknown or unsupported type {:?}; known: {}", name, known_names());
  r.base_ = *t;
  return r;
}

std::string QuantRecipe::known_names() { return "f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, nf4, q4_k_m"; }

DType QuantRecipe::type_for(const std::string& name, int64_t n_layers) const {
  if (!mixed_) return base_;
  if (name == "output.weight") return DType::kQ6_K;
  const int layer = layer_of(name);
  if (layer >= 0 && (name.ends_with("attn_v.weight") || name.ends_with("ffn_down.weight")) &&
      more_bits(layer, n_layers))
    return DType::kQ6_K;
  return base_;
}

}  // namespace limarp
