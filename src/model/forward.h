// The Llama-2 forward pass: embedding, then per layer RMSNorm → q/k/v (rotary) → causal GQA
// attention over the KV cache → output projection → residual, RMSNorm → SwiGLU feed-forward
// → residual; final RMSNorm and the output matrix. F32 activations and accumulation.
//
// The layer itself is model/llama_layer.h, shared with training; this class supplies what
// inference does its own way: the KV cache, per-request LoRA adapters, and logits only for
// the rows someone wants. Operations run on a backend (backend/backend.h); the constructor
// taking a pool runs them on the CPU.
//
// One call evaluates a batch: any number of sequences, each with its own KV cache and any
// number of new tokens, so prompt processing (many tokens, one sequence) and batched decoding
// (one token, many sequences) share one path and every matmul sees all rows at once.
//
//   Forward fwd(model, pool);
//   std::vector<float> logits;
//   LIMARP_TRY(fwd.eval(prompt_ids, cache, logits));     // logits of the last token
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu_backend.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "model/kv_cache.h"
#include "model/llama_model.h"

namespace limarp {

// Adds a learned delta to a projection's output (LoRA adapters implement this).
class LinearAdapter {
 public:
  virtual ~LinearAdapter() = default;
  // y[T, out] += delta(x[T, in]) for projection p of layer `layer`.
  virtual void apply(int64_t layer, Projection p, const float* x, float* y, int64_t T, Backend& backend) const = 0;
  // Full replacements of the embedding / output matrix (PEFT modules_to_save), or null.
  virtual const TensorView* token_embedding() const { return nullptr; }
  virtual const TensorView* output() const { return nullptr; }
};

enum class LogitsWanted { kLast, kAll, kNone };

struct BatchItem {
  std::span<const int32_t> tokens;          // new tokens, at positions cache->size() onwards
  KvCache* cache = nullptr;
  LogitsWanted logits_wanted = LogitsWanted::kLast;
  std::vector<float>* logits = nullptr;     // out: [1 or tokens.size(), vocab]
  const LinearAdapter* adapter = nullptr;   // optional
};

class Forward {
 public:
  // On the CPU backend, with the pool's threads.
  Forward(const LlamaModel& model, ThreadPool& pool);
  // On a backend the caller owns and keeps alive.
  Forward(const LlamaModel& model, Backend& backend);
  // On `backend` when given, else on the CPU with the pool's threads. With a backend and
  // 0 < backend_layers < the model's layers (layer offload), layers [0, backend_layers) run on
  // it and the rest, with the output matrix, on the CPU; the residual crosses once per pass.
  Forward(const LlamaModel& model, ThreadPool& pool, Backend* backend, int64_t backend_layers = -1);

  // A KV cache placed where this pass computes each layer (split under layer offload).
  KvCache make_kv_cache(int64_t capacity, DType type);
  // Layers on backend() (all of them unless offloading).
  int64_t backend_layers() const { return backend_layers_; }

  Status eval(std::span<BatchItem> batch);
  Status eval(std::span<const int32_t> tokens, KvCache& cache, std::vector<float>& logits,
              LogitsWanted wanted = LogitsWanted::kLast, const LinearAdapter* adapter = nullptr);

  const LlamaModel& model() const { return model_; }
  Backend& backend() { return backend_; }

  // Time per kind of operation, accumulated while profiling is on (LIMARP_PROFILE=1 in the
  // environment, or set_profiling): where a prompt's or a token's time goes.
  struct Profile {
    OpTimes ops;
    int64_t calls = 0, tokens = 0;
    std::string describe() const;
  };
  void set_profiling(bool on);
  Profile profile() const { return {backend_.op_times(), calls_, tokens_}; }

 private:
  class Hooks;
  Status check(std::span<BatchItem> batch);
  void output(std::span<BatchItem> batch, const float* x, Backend& be);
  Backend& backend_of(int64_t layer) { return layer < backend_layers_ ? backend_ : *owned_backend_; }

  const LlamaModel& model_;
  std::unique_ptr<CpuBackend> owned_backend_;
  Backend& backend_;
  int64_t backend_layers_ = 0;  // layers on backend_; the rest on owned_backend_ (offload)
  RopeFrequencies rope_freq_;  // fixed for the model's life: the config is set before any pass
  bool profiling_ = false;
  int64_t calls_ = 0, tokens_ = 0;
  std::vector<int64_t> row_start_;
  // Reused by every call, so decoding a token allocates nothing once they have grown.
  std::vector<int64_t> output_rows_;
  std::vector<const TensorView*> output_weights_;
};

}  // namespace limarp
