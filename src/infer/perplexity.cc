#include "infer/perplexity.h"

#include <algorithm>
#include <cmath>

namespace limarp {

Result<PerplexityResult> perplexity(Forward& forward, std::span<const int32_t> tokens, const PerplexityOptions& o) {
  const auto n = static_cast<int64_t>(tokens.size());
  if (n < 2) return make_error("perplexity needs at least 2 tokens, got {}", n);
  if (o.context < 2) return make_error("context {} is too small", o.context);
  const int64_t stride = o.stride > 0 ? std::min(o.stride, o.context) : std::max<int64_t>(1, o.context / 2);
  const LlamaConfig& c = forward.model().config();
  const int64_t V = c.vocab_size;
  KvCache cache = forward.make_kv_cache(o.context, o.kv_type);
  std::vector<float> logits;
  PerplexityResult r;
  double nll = 0;
  int64_t scored_until = 1;  // tokens[0] has no left context and is never scored
  for (int64_t begin = 0; scored_until < n; begin += stride) {
    const int64_t end = std::min(n, begin + o.context);
    cache.clear();
    for (int64_t b = begin; b < end; b += o.batch) {
      const int64_t e = std::min(end, b + o.batch);
      LIMARP_TRY(forward.eval(tokens.subspan(static_cast<size_t>(b), static_cast<size_t>(e - b)), cache, logits,
                              LogitsWanted::kAll, o.adapter));
      // Row i predicts token b + i + 1; score those not scored by an earlier window.
      for (int64_t i = 0; i < e - b; ++i) {
        const int64_t target = b + i + 1;
        if (target < scored_until || target >= end) continue;
        const float* row = logits.data() + i * V;
        const float mx = *std::max_element(row, row + V);
        double z = 0;
        for (int64_t v = 0; v < V; ++v) z += std::exp(static_cast<double>(row[v] - mx));
        nll += std::log(z) + mx - row[tokens[static_cast<size_t>(target)]];
        ++r.scored_tokens;
      }
    }
    scored_until = std::max(scored_until, end);
    ++r.windows;
    if (o.progress) o.progress(scored_until, n);
    if (end == n) break;
  }
  r.mean_nll = nll / static_cast<double>(r.scored_tokens);
  r.perplexity = std::exp(r.mean_nll);
  return r;
}

}  // namespace limarp
