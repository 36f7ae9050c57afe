// The memory a training run needs, printed before it starts: frozen base weights, trainable
// parameters, their gradients, AdamW's two moments, and the activation and gradient buffers
// of one micro-batch (what TrainingPass allocates, f32). The same arithmetic describes the
// card's run — Llama-2-7B, QLoRA (NF4 with double-quantized scales), LoRA rank 256 on all
// seven projections, micro-batches of 2 × 4096 tokens — so the two can be compared.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/llama_config.h"
#include "model/tensor_names.h"
#include "model/training_pass.h"
#include "model/trainable_model.h"
#include "tensor/dtype.h"

namespace limarp::train {

struct MemoryPlanInput {
  std::string title;
  LlamaConfig model;
  bool full = false;                     // full-parameter training (else LoRA)
  BaseQuantization quant = BaseQuantization::kAsStored;
  DType matrix_type = DType::kF16;       // stored type of the projections (when not re-quantized)
  DType embedding_type = DType::kF16;    // token embedding and output matrix
  int64_t lora_rank = 0;
  std::vector<Projection> lora_targets;
  bool lora_dropout = false;
  int64_t micro_batch_tokens = 0;
  Checkpointing checkpointing = Checkpointing::kOff;
};

struct MemoryPlan {
  std::string title;
  uint64_t base_weights = 0, trainable = 0, gradients = 0, optimizer = 0, activations = 0;
  int64_t trainable_count = 0;
  uint64_t total() const { return base_weights + trainable + gradients + optimizer + activations; }
  std::string describe() const;  // a few aligned lines
};

MemoryPlan plan_memory(const MemoryPlanInput& in);
// Refuses a plan larger than `max_memory`, or without one than the machine's available
// memory, with the plan in the message; checked before anything large is allocated.
Status check_memory_plan(const MemoryPlan& plan, std::optional<uint64_t> max_memory);
// The card's first pass as Axolotl ran it, in limarp's arithmetic (f32 LoRA and
// activations; gradient checkpointing on, as needed to fit).
MemoryPlanInput card_run();

}  // namespace limarp::train
