// A LoRA adapter bound to a base model: for each (layer, projection) an optional pair
// A [r, in], B [out, r] and its scale, validated against the base's shapes. Loads what users
// have: a PEFT folder (adapter_config.json + adapter_model.safetensors, or adapter_model.bin —
// a PyTorch zip pickle read by the safe unpickler) or a GGUF LoRA file (adapter.lora.alpha,
// <tensor>.lora_a / .lora_b). PEFT adapters are in the Hugging Face q/k row order; GGUF LoRA
// files in the interleaved one; B is reordered here when the base model uses the other.
//
//   LIMARP_ASSIGN_OR_RETURN(LoraAdapter lora, LoraAdapter::load("limarp-v3/", model));
//   AdapterSet set;  set.add(std::make_shared<LoraAdapter>(std::move(lora)), 1.0f);
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "formats/tensor_store.h"
#include "model/llama_model.h"
#include "model/lora_config.h"

namespace limarp {

struct LoraPair {
  TensorView a;      // [r, in]
  TensorView b;      // [out, r], rows in the base model's rotary layout
  float scale = 1;   // alpha / r (or alpha / sqrt(r)); the user scale is applied on top
  int64_t rank() const { return a.shape[0]; }
};

class LoraAdapter {
 public:
  static Result<LoraAdapter> load(const std::string& path, const LlamaModel& base);
  // From tensors already in memory (training, tests): PEFT names (GGUF LoRA names when the
  // store's format is GGUF) and a PEFT config. `b_layout` is the q/k row order of the stored B
  // factors: PEFT files use the Hugging Face order, GGUF LoRA files the interleaved one.
  static Result<LoraAdapter> from_peft_store(TensorStore store, const LoraConfig& config, const LlamaModel& base,
                                             std::optional<RopeLayout> b_layout = std::nullopt);

  const LoraPair* pair(int64_t layer, Projection p) const;
  // modules_to_save replacements, or null.
  const TensorView* token_embedding() const { return embedding_ ? &*embedding_ : nullptr; }
  const TensorView* output() const { return output_ ? &*output_ : nullptr; }

  const std::string& path() const { return path_; }
  const LoraConfig& config() const { return config_; }
  int64_t max_rank() const;
  uint64_t bytes() const;
  int64_t pair_count() const;
  // Layout of B's q/k rows as stored here (the base model's).
  RopeLayout layout() const { return layout_; }

 private:
  std::string path_;
  LoraConfig config_;
  RopeLayout layout_ = RopeLayout::kInterleaved;
  std::vector<std::array<std::optional<LoraPair>, 7>> pairs_;
  std::optional<TensorView> embedding_, output_;
  std::shared_ptr<TensorStore> store_;  // owns the mapped files and any reordered tensors
};

// Parses a PEFT tensor name ("base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight")
// into layer, projection and which factor; nullopt for names that are not LoRA factors.
struct PeftName {
  int64_t layer;
  Projection projection;
  bool is_a;
};
std::optional<PeftName> parse_peft_name(const std::string& name);
std::string peft_name(int64_t layer, Projection p, bool is_a);  // the inverse
std::string peft_module_name(int64_t layer, Projection p);      // "model.layers.7.self_attn.q_proj"

}  // namespace limarp
