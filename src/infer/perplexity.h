// Perplexity of a model on a text, with a sliding window: windows of `context` tokens start
// every `stride` tokens; each token is scored once, by the first window that sees it with at
// least one token before it, so later windows give scored tokens a long left context (the
// Hugging Face evaluation recipe). exp(mean negative log-likelihood) over scored tokens.
#pragma once

#include <functional>
#include <span>

#include "base/status.h"
#include "model/forward.h"

namespace limarp {

struct PerplexityOptions {
  int64_t context = 512;
  int64_t stride = 0;        // 0: context / 2
  int64_t batch = 512;       // tokens per forward call inside a window
  const LinearAdapter* adapter = nullptr;
  DType kv_type = DType::kF16;  // of the KV cache (model/kv_cache.h)
  std::function<void(int64_t done, int64_t total)> progress;
};

struct PerplexityResult {
  double perplexity = 0;
  double mean_nll = 0;       // nats per token
  int64_t scored_tokens = 0;
  int64_t windows = 0;
};

Result<PerplexityResult> perplexity(Forward& forward, std::span<const int32_t> tokens, const PerplexityOptions& options);

}  // namespace limarp
