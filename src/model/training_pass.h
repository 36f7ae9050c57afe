// The Llama forward pass in training mode, and its backward pass, in llm.c's shape: the
// forward records what the backward needs (per layer: normalised inputs, q/k/v, attention
// output and log-sum-exp, the feed-forward's gate/up/product, each LoRA branch's A·x), then
// the backward walks the layers in reverse, each step differentiating one forward line. The
// same kernels as inference do the forward work (matmul against base weights of any type,
// rmsnorm, rope, swiglu); their backward twins sit beside them in src/kernels.
//
// A micro-batch is a list of sequences laid end to end without padding: every matmul sees all
// rows at once, attention runs per sequence (a packed sample is simply its own sequence, so
// packing never lets samples attend to each other), and positions restart at 0 per sequence.
//
// Per-layer gradient checkpointing keeps only each layer's input and recomputes the layer's
// forward (dropout masks included: they are regenerated from the seed) just before its
// backward — activation memory drops from O(layers · width) to O(layers + width) per row.
//
// Shapes (N = rows of the micro-batch, D = dim, KV = kv_dim, H = hidden_dim, V = vocab):
//   x_in[l] [N, D] residual entering layer l (x_in[L] leaves the last layer)
//   xn1, xn2 [N, D] normalised inputs of attention and feed-forward; q, att [N, D];
//   k, v [N, KV]; lse [N, n_heads]; gate, up, h [N, H]; ax[p] [N, r]
//
//   TrainingPass pass(model, pool);
//   double loss_sum = pass.forward(batch, PassMode::kTrain, 1.0f / tokens_in_step, seed);
//   pass.backward(batch);   // parameter gradients += d(loss_sum / tokens_in_step)
#pragma once

#include <array>
#include <span>
#include <vector>

#include <memory>

#include "backend/cpu_backend.h"
#include "base/thread_pool.h"
#include "kernels/lora.h"
#include "model/llama_layer.h"
#include "model/trainable_model.h"

namespace limarp {

// A row that is also a length decision: its gradient gains weight × that of the binary
// cross-entropy of "the next token is `stop`, or not" (kernels::stop_choice_backward).
// stop < 0: the row is no decision.
struct StopChoice {
  int32_t stop = -1;
  float weight = 0;
};

// One micro-batch. targets[i] is the token row i should predict, or kernels::kNoTarget.
// weights[i] scales row i's share of the gradient (not the reported loss); empty: all 1.
// choices[i]: row i's length decision; empty: none. Neither changes the reported loss.
struct TrainBatch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> targets;
  std::vector<float> weights;
  std::vector<StopChoice> choices;
  std::vector<SequenceSpan> sequences;

  int64_t rows() const { return static_cast<int64_t>(tokens.size()); }
  int64_t loss_tokens() const;
  float weight(int64_t row) const { return weights.empty() ? 1.0f : weights[static_cast<size_t>(row)]; }
  StopChoice choice(int64_t row) const { return choices.empty() ? StopChoice{} : choices[static_cast<size_t>(row)]; }
  // Appends a sequence: tokens[i] predicts targets[i] with weights[i] and choices[i] (same
  // length, or empty for all 1 / none).
  void add_sequence(std::span<const int32_t> tokens, std::span<const int32_t> targets,
                    std::span<const float> weights = {}, std::span<const StopChoice> choices = {});
  void clear();
};

enum class Checkpointing { kOff, kPerLayer };
// The precision of the products. kBF16 is mixed precision, as autocast: LoRA's A and B are
// rounded to bfloat16 for the forward and backward products while the optimizer keeps updating
// the f32 values (gradients pass straight through the rounding), and where the CPU has a matrix
// engine (AMX) the products with the base weights round both operands to bf16 too (f32 sums).
enum class TrainPrecision { kF32, kBF16 };
enum class PassMode { kTrain, kEval };  // kEval: no dropout, nothing recorded for backward

// Logits rows computed at once when not given: as many as fit 128 MiB of f32 logits, at least
// 256. Every chunk passes the whole output matrix through the products (and, on the matrix
// engine or the f32 gemm path, repacks it), so larger chunks pay that once for more rows.
int64_t default_classifier_rows(int64_t vocab_size);

struct TrainingPassOptions {
  Checkpointing checkpointing = Checkpointing::kOff;
  int64_t classifier_rows = 0;  // logits rows computed at once ([rows, V] buffer); 0: the default
  TrainPrecision precision = TrainPrecision::kF32;
};

// What decides the size of a pass's buffers, for memory plans made before any model exists.
struct PassBufferShape {
  int64_t rows = 0;            // tokens in a micro-batch
  int64_t lora_rank = 0;       // 0: no LoRA (full training)
  int64_t lora_targets = 0;    // projections per layer with factors
  bool lora_dropout = false;
  Checkpointing checkpointing = Checkpointing::kOff;
  int64_t classifier_rows = 0;  // 0: default_classifier_rows
};

class TrainingPass {
 public:
  // Bytes of every activation and gradient buffer a pass holds for this shape (what
  // buffer_bytes() reports after a forward pass of that many rows).
  static uint64_t buffer_bytes_for(const LlamaConfig& config, const PassBufferShape& shape);

  TrainingPass(TrainableModel& model, ThreadPool& pool, TrainingPassOptions options = {});

  // The summed cross-entropy over rows with a target. In kTrain mode it also records the
  // activations and the classifier's gradient, scaled by grad_scale times the row's weight
  // (d objective / d row loss).
  double forward(const TrainBatch& batch, PassMode mode, float grad_scale, uint64_t dropout_seed);
  // Adds the gradients of grad_scale · (summed loss) to the parameters' grads. Call right
  // after forward(batch, kTrain, ...).
  void backward(const TrainBatch& batch);

  // Bytes of the activation and gradient buffers held now.
  uint64_t buffer_bytes() const;
  // Bytes of the kernels' scratch held now (every thread's arena: packed panels and
  // activations), which buffer_bytes_for cannot know ahead: it depends on the CPU's kernels.
  uint64_t scratch_bytes() const;

 private:
  struct LayerActs {
    std::vector<float> xn1, q, k, v, att, lse, x_mid, xn2, gate, up, h;
    std::array<std::vector<float>, 7> ax;
  };

  class Hooks;
  LayerActs& acts_for(int64_t layer);
  LayerActivations activations(LayerActs& a);
  const TensorView& weight(int64_t layer, Projection p) const;
  kernels::AttentionShape attention_shape() const;
  void size_buffers(int64_t N);
  void layer_forward(int64_t l, LayerActs& a, const float* x, float* x_out, const TrainBatch& batch, PassMode mode);
  void layer_backward(int64_t l, LayerActs& a, const float* x, float* dx, const TrainBatch& batch);
  double classifier(const TrainBatch& batch, PassMode mode, float grad_scale);
  kernels::Dropout dropout_for(int64_t l, Projection p, PassMode mode) const;
  kernels::LoraScratch lora_scratch();
  kernels::LoraFactors factors_of(int64_t l, Projection p) const;
  void round_lora_factors();
  template <typename Fn>
  void for_rows(int64_t N, bool parallel, const Fn& fn);

  TrainableModel& model_;
  ThreadPool& pool_;
  std::unique_ptr<CpuBackend> backend_;  // training runs on the CPU (docs/architecture.md)
  TrainingPassOptions options_;
  RopeFrequencies rope_freq_;  // the same scaled table as inference (model/rope_scaling.h)
  uint64_t seed_ = 0;
  int64_t n_rows_ = 0;

  std::vector<std::vector<float>> x_in_;  // [L + 1][N * D]
  std::vector<LayerActs> acts_;           // one per layer, or one shared when checkpointing
  std::vector<float> cos_sin_;            // [N, head_dim]: rotary table of each row's position
  std::vector<float> xn_final_, dxn_final_, logits_, losses_, dloss_;
  std::vector<float> tmp_, dx_, dxn_, dq_, dk_, dv_, datt_, dh_, dgate_, dup_;
  std::vector<float> lora_xd_, lora_dax_;
  std::vector<uint8_t> lora_keep_;
  // kBF16: bfloat16-rounded copies of each slot's A and B, [layer * 7 + projection].
  std::vector<std::pair<std::vector<float>, std::vector<float>>> rounded_;
};

}  // namespace limarp
