// The Llama-2 forward pass: embedding, then per layer RMSNorm → q/k/v (rotary) → causal GQA
// attention over the KV cache → output projection → residual, RMSNorm → SwiGLU feed-forward
// → residual; final RMSNorm and the output matrix. F32 activations and accumulation.
//
// One call evaluates a batch: any number of sequences, each with its own KV cache and any
// number of new tokens, so prompt processing (many tokens, one sequence) and batched decoding
// (one token, many sequences) share one path and every matmul sees all rows at once.
//
//   Forward fwd(model, pool);
//   std::vector<float> logits;
//   LIMARP_TRY(fwd.eval(prompt_ids, cache, logits));     // logits of the last token
#pragma once

#include <span>
#include <string>
#include <vector>

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
  virtual void apply(int64_t layer, Projection p, const float* x, float* y, int64_t T, ThreadPool& pool) const = 0;
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
  Forward(const LlamaModel& model, ThreadPool& pool);

  Status eval(std::span<BatchItem> batch);
  Status eval(std::span<const int32_t> tokens, KvCache& cache, std::vector<float>& logits,
              LogitsWanted wanted = LogitsWanted::kLast, const LinearAdapter* adapter = nullptr);

  const LlamaModel& model() const { return model_; }
  ThreadPool& pool() { return pool_; }

  // Time per stage of the forward pass, accumulated while profiling is on (LIMARP_PROFILE=1 in
  // the environment, or set_profiling): where a prompt's or a token's time goes.
  struct Profile {
    double embed = 0, norm = 0, matmul = 0, rope = 0, attention = 0, ffn_act = 0, output = 0;
    int64_t calls = 0, tokens = 0;
    std::string describe() const;
  };
  void set_profiling(bool on) { profiling_ = on; }
  const Profile& profile() const { return profile_; }

 private:
  void project(float* y, const float* x, int64_t layer, Projection p, std::span<BatchItem> batch);

  const LlamaModel& model_;
  ThreadPool& pool_;
  RopeFrequencies rope_freq_;  // fixed for the model's life: the config is set before any pass
  bool profiling_ = false;
  Profile profile_;
  // Scratch, reused across calls: [rows, width].
  std::vector<float> x_, xn_, q_, k_, v_, att_, gate_, up_, rope_;
  std::vector<int64_t> row_start_;
};

}  // namespace limarp
