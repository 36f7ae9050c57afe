// What a training run changes, bound to the model it trains: either LoRA factors on a frozen
// base (the base optionally re-quantized to NF4 — QLoRA), or every weight of a small model
// (full-parameter training, e.g. pretraining a demo model from scratch).
//
// The training pass reads weights() for every matrix and norm; in LoRA mode those are the
// base's own views (or the NF4 copies held here), in full mode views of the f32 parameters,
// so an optimizer step is seen by the next forward pass without copying. A TrainableModel
// holds views into its base LlamaModel and must not outlive it.
//
//   LIMARP_ASSIGN_OR_RETURN(TrainableModel tm, TrainableModel::lora(base, spec, {}, seed));
//   TrainingPass pass(tm, pool);  ...  tm.params()  → optimizer
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "base/status.h"
#include "model/llama_model.h"
#include "model/lora_adapter.h"
#include "model/parameters.h"

namespace limarp {

struct LoraTrainSpec {
  int64_t rank = 8;
  double alpha = 16;
  float dropout = 0;
  std::vector<Projection> targets;  // which of each layer's projections get factors
  bool use_rslora = false;
};

// How the frozen base's projection matrices are held during LoRA training.
enum class BaseQuantization {
  kAsStored,        // the file's own types, memory-mapped
  kNF4,             // NF4, blocks of 64 with f32 scales (QLoRA)
  kNF4DoubleQuant,  // NF4 with double-quantized scales (QLoRA's default)
};

struct LoraSlot {
  Parameter* a = nullptr;  // [r, in]
  Parameter* b = nullptr;  // [out, r], rows in the base model's rotary layout
  float scale = 0;
  bool active() const { return a != nullptr; }
};

// Full training: the parameter behind each weight (output == token_embd when tied).
struct DenseSlots {
  struct Layer {
    Parameter* attn_norm = nullptr;
    Parameter* ffn_norm = nullptr;
    std::array<Parameter*, 7> projection{};
  };
  Parameter* token_embd = nullptr;
  Parameter* output = nullptr;
  Parameter* output_norm = nullptr;
  std::vector<Layer> layers;
};

class TrainableModel {
 public:
  // New LoRA factors as PEFT initialises them: A ~ U(-1/sqrt(in), 1/sqrt(in)) (Kaiming-uniform
  // with a = sqrt(5)), B = 0, so training starts exactly at the base model.
  static Result<TrainableModel> lora(const LlamaModel& base, const LoraTrainSpec& spec, BaseQuantization quant,
                                     uint64_t seed);
  // Continues an existing adapter (Axolotl's lora_model_dir): its factors, ranks and scales.
  static Result<TrainableModel> lora_from_adapter(const LlamaModel& base, const LoraAdapter& adapter, float dropout,
                                                  BaseQuantization quant);
  // Every weight as an f32 parameter (norms exempt from weight decay).
  static Result<TrainableModel> full(const LlamaModel& base);

  TrainableModel(TrainableModel&&) = default;
  TrainableModel& operator=(TrainableModel&&) = default;

  const LlamaConfig& config() const { return config_; }
  const LlamaWeights& weights() const { return weights_; }
  ParameterSet& params() { return params_; }
  const ParameterSet& params() const { return params_; }
  bool is_full() const { return dense_ != nullptr; }
  const DenseSlots* dense() const { return dense_.get(); }
  const LoraSlot& lora_slot(int64_t layer, Projection p) const {
    return lora_[static_cast<size_t>(layer)][static_cast<size_t>(p)];
  }
  float lora_dropout() const { return dropout_; }
  int64_t max_lora_rank() const;
  // Bytes of the frozen weights as held in memory (NF4 copies or the mapped base).
  uint64_t frozen_bytes() const;

  // The PEFT config the factors were created with (rank, alpha, dropout, target modules).
  const LoraConfig& lora_config() const { return lora_config_; }
  LoraConfig& lora_config() { return lora_config_; }
  // The trained factors as an adapter on `base` (the model this was built from), ready for
  // write_peft_folder. LoRA mode only.
  Result<LoraAdapter> to_adapter(const LlamaModel& base) const;
  // Every weight in canonical names (full mode), for write_model_tensors.
  std::vector<OutTensor> dense_tensors() const;

 private:
  TrainableModel() = default;
  Status quantize_base(BaseQuantization quant);

  LlamaConfig config_;
  LlamaWeights weights_;
  ParameterSet params_;
  std::vector<std::array<LoraSlot, 7>> lora_;
  std::unique_ptr<DenseSlots> dense_;
  float dropout_ = 0;
  LoraConfig lora_config_;
  std::vector<std::unique_ptr<Tensor>> frozen_;  // NF4 copies of the base projections
};

}  // namespace limarp
