// The probability of a sampled token and of its strongest rivals, for the APIs' token
// probability fields (llama.cpp n_probs, OpenAI logprobs, KoboldCpp logprobs).
//
//   chain.sample(logits, ctx);
//   TokenProbs p = token_probs(chain.last_candidates(), chosen, 5);   // p.chosen, p.top[0..4]
//
// Which distribution: the one the token was drawn from — a softmax over the candidates as the
// whole chain left them (biases, bans, penalties, truncation, temperature applied; a truncated
// token has probability 0 and is never listed). A greedy chain has no temperature or
// truncation stages, so there it is the softmax of the logits after biases and penalties at
// temperature 1. Log-probabilities are natural logs, computed in double from the logits
// (log-sum-exp), not from the float probabilities.
#pragma once

#include <cstdint>
#include <vector>

#include "sampling/candidates.h"

namespace limarp {

struct TokenLogprob {
  int32_t id = 0;
  double logprob = 0;  // ln p; -inf when p is 0
};

struct TokenProbs {
  TokenLogprob chosen;
  std::vector<TokenLogprob> top;  // the n most likely with p > 0, most likely first (lower id on ties)
};

TokenProbs token_probs(const Candidates& candidates, int32_t chosen, size_t n_top);

}  // namespace limarp
