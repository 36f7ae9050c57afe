#include "train/memory_plan.h"

#include "base/memory_size.h"
#include "tensor/nf4_double_quant.h"

namespace limarp::train {
namespace {

uint64_t matrix_bytes(DType type, int64_t rows, int64_t cols) {
  auto b = row_bytes(type, cols);
  return static_cast<uint64_t>(rows) * (b ? *b : static_cast<uint64_t>(cols) * 2);
}

}  // namespace

MemoryPlan plan_memory(const MemoryPlanInput& in) {
  const LlamaConfig& c = in.model;
  MemoryPlan p;
  p.title = in.title;
  const int64_t D = c.dim, KV = c.kv_dim(), H = c.hidden_dim;
  const int64_t shapes[7][2] = {{D, D}, {KV, D}, {KV, D}, {D, D}, {H, D}, {H, D}, {D, H}};  // [out, in]
  int64_t per_layer_params = 0;
  for (const auto& s : shapes) per_layer_params += s[0] * s[1];
  const int64_t norms = (2 * c.n_layers + 1) * D;
  const int64_t embedding = c.vocab_size * D * (c.tied_output ? 1 : 2);
  if (in.full) {
    p.trainable_count = per_layer_params * c.n_layers + norms + embedding;
  } else {
    uint64_t projections = 0;
    for (const auto& s : shapes) {
      const int64_t n = s[0] * s[1];
      if (in.quant != BaseQuantization::kAsStored && s[1] % 64 == 0)
        projections += nf4_storage_bytes(n, in.quant == BaseQuantization::kNF4DoubleQuant);
      else projections += matrix_bytes(in.matrix_type, s[0], s[1]);
    }
    p.base_weights = projections * static_cast<uint64_t>(c.n_layers) + static_cast<uint64_t>(norms) * 4 +
                     matrix_bytes(in.embedding_type, c.vocab_size, D) * (c.tied_output ? 1 : 2);
    for (Projection t : in.lora_targets) {
      const auto& s = shapes[static_cast<int>(t)];
      p.trainable_count += in.lora_rank * (s[0] + s[1]) * c.n_layers;
    }
  }
  p.trainable = static_cast<uint64_t>(p.trainable_count) * 4;
  p.gradients = p.trainable;
  p.optimizer = 2 * p.trainable;
  PassBufferShape shape;
  shape.rows = in.micro_batch_tokens;
  shape.lora_rank = in.full ? 0 : in.lora_rank;
  shape.lora_targets = in.full ? 0 : static_cast<int64_t>(in.lora_targets.size());
  shape.lora_dropout = in.lora_dropout;
  shape.checkpointing = in.checkpointing;
  p.activations = TrainingPass::buffer_bytes_for(c, shape);
  return p;
}

Status check_memory_plan(const MemoryPlan& plan, std::optional<uint64_t> max_memory) {
  const std::optional<uint64_t> limit = max_memory ? max_memory : available_memory();
  if (!limit || plan.total() <= *limit) return {};
  return make_error("the run needs {} but {} {} available:\n{}\n(smaller lora_r, micro_batch_size or sequence_len, "
                    "gradient_checkpointing: true, or a larger --max-memory)",
                    human_bytes(plan.total()), human_bytes(*limit), max_memory ? "is allowed by --max-memory" : "is",
                    plan.describe());
}

std::string MemoryPlan::describe() const {
  return fmt::format(
      "{}\n"
      "  base weights (frozen)        {:>12}\n"
      "  trainable parameters (f32)   {:>12}  ({} parameters)\n"
      "  gradients (f32)              {:>12}\n"
      "  AdamW moments (2 x f32)      {:>12}\n"
      "  activations per micro-batch  {:>12}\n"
      "  total                        {:>12}",
      title, human_bytes(base_weights), human_bytes(trainable), trainable_count, human_bytes(gradients), human_bytes(optimizer),
      human_bytes(activations), human_bytes(total()));
}

MemoryPlanInput card_run() {
  MemoryPlanInput in;
  in.title = "the card's pass 1 (Llama-2-7B, QLoRA NF4 + double quant, r 256 on 7 projections, 2 x 4096 tokens, "
             "gradient checkpointing):";
  in.model = named_shape("llama2-7b").value();
  in.quant = BaseQuantization::kNF4DoubleQuant;
  in.matrix_type = DType::kF16;
  in.embedding_type = DType::kF16;
  in.lora_rank = 256;
  in.lora_targets.assign(std::begin(kAllProjections), std::end(kAllProjections));
  in.lora_dropout = true;
  in.micro_batch_tokens = 2 * 4096;
  in.checkpointing = Checkpointing::kPerLayer;
  return in;
}

}  // namespace limarp::train
