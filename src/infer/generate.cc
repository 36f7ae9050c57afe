#include "infer/generate.h"

#include <chrono>

namespace limarp {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kEos: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kStopped: return "stop";
    case FinishReason::kContextFull: return "length";
  }
  return "?";
}

Result<GenerateResult> generate(Forward& forward, KvCache& cache, std::span<const int32_t> prompt,
                                SamplerChain& sampler, Rng& rng, const GenerateOptions& options,
                                const TokenCallback& on_token) {
  using Clock = std::chrono::steady_clock;
  GenerateResult result;
  if (prompt.empty()) return make_error("generate: empty prompt (it should at least hold BOS)");
  std::vector<float> logits;
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  auto t0 = Clock::now();
  LIMARP_TRY(forward.eval(prompt, cache, logits, LogitsWanted::kLast, options.adapter));
  auto t1 = Clock::now();
  result.prompt_eval_ms = std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count();
  for (int64_t i = 0; i < options.max_tokens; ++i) {
    SamplerContext ctx{history, &rng};
    const int32_t id = sampler.sample(logits, ctx);
    if (options.stop_at_eos && id == options.eos_id) {
      result.finish = FinishReason::kEos;
      break;
    }
    result.tokens.push_back(id);
    history.push_back(id);
    if (on_token && !on_token(id)) {
      result.finish = FinishReason::kStopped;
      break;
    }
    if (i + 1 == options.max_tokens) break;
    if (cache.size() >= cache.capacity()) {
      result.finish = FinishReason::kContextFull;
      break;
    }
    const int32_t one[1] = {id};
    LIMARP_TRY(forward.eval(one, cache, logits, LogitsWanted::kLast, options.adapter));
  }
  result.decode_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t1).count();
  return result;
}

}  // namespace limarp
