// The plain generation loop: evaluate the prompt, then sample and evaluate one token at a
// time, streaming each token to a callback that can stop generation by returning false.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/forward.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace limarp {

enum class FinishReason { kEos, kLength, kStopped, kContextFull };
const char* finish_reason_name(FinishReason r);

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids
  FinishReason finish = FinishReason::kLength;
  int64_t prompt_eval_ms = 0;
  int64_t decode_ms = 0;
};

// Called for every generated token with its id; return false to stop.
using TokenCallback = std::function<bool(int32_t id)>;

struct GenerateOptions {
  int64_t max_tokens = 128;
  int32_t eos_id = 2;
  bool stop_at_eos = true;
  const LinearAdapter* adapter = nullptr;
};

Result<GenerateResult> generate(Forward& forward, KvCache& cache, std::span<const int32_t> prompt,
                                SamplerChain& sampler, Rng& rng, const GenerateOptions& options,
                                const TokenCallback& on_token);

}  // namespace limarp
