// The speculative-decoding parts of `limarp bench`: what verifying k tokens in one pass costs
// next to decoding one (so the speed-up at an acceptance rate follows), and generation with a
// drafter alternated with plain generation on the same text.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/json_util.h"
#include "base/status.h"
#include "infer/speculative.h"
#include "model/forward.h"

namespace limarp::cli {

double seconds_since(std::chrono::steady_clock::time_point t0);

// Per k, the mean time of one pass evaluating k new tokens (all their logits, as verification
// needs) after `depth` tokens, over `passes` passes per repetition; k = 1 is plain decoding.
struct VerifyCost {
  int64_t tokens = 0;
  double ms = 0, ratio = 0;  // ratio: ms / the one-token pass's ms
};
Result<std::vector<VerifyCost>> bench_verify(Forward& fwd, KvCache& cache, int64_t depth, std::vector<int64_t> ks,
                                             int reps, const LinearAdapter* adapter);

struct SpeculativeBench {
  std::vector<double> plain_tok_s, spec_tok_s, ratios;  // one per alternated pair
  SpeculativeStats stats;                                // summed over the speculative runs
  bool same_text = true;                                 // greedy: every pair wrote the same tokens
};
// `reps` pairs: plain then speculative greedy generation of `gen` tokens after `prompt`, each
// from an empty cache (the prompt's evaluation is not timed).
Result<SpeculativeBench> bench_speculative(Forward& fwd, const Tokenizer& tok, const DraftSource& drafts,
                                           const std::vector<int32_t>& prompt, int64_t gen, int reps, DType kv_type);

// A LimaRP-format roleplay prompt, the default text of the speculative benchmark.
const char* default_speculative_prompt();

}  // namespace limarp::cli
