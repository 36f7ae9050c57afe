// DRY, "don't repeat yourself": penalises the token that would extend a verbatim repeat of
// earlier text, more strongly the longer the repeat. Repeats may not run through a sequence
// breaker (by default newline, colon, quote, asterisk), so a repeated name tag or a line
// break alone is never treated as a loop.
//
//   auto texts = std::make_shared<const TokenTexts>(...);   // infer: token_text_table(tok)
//   chain.add(make_dry({.multiplier = 0.8f, .base = 1.75f, .allowed_length = 2}, texts));
//
// For every earlier position j of the window (the last `penalty_last_n` tokens; <= 0 the whole
// history), L(j) is the length of the longest run of tokens ending at j equal to the run
// ending at the newest token. If L(j) >= allowed_length, the token that followed position j
// would continue the repeat and gets logit −= multiplier · base^(L(j) − allowed_length); a
// token that follows several matches takes the largest penalty. L is computed for all j at once
// with the Z-algorithm on the reversed window, so one step costs O(window).
//
// Breakers are strings, matched in the text of the window: every token whose text overlaps an
// occurrence of a breaker is a breaker position, so a breaker split across tokens still counts.
// A repeat is limited to the tokens after the newest breaker position (if the newest token is a
// breaker, nothing is penalised). That needs each token's text: pass the tokenizer's table.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sampling/sampler.h"

namespace limarp {

// Raw text of every token id (index = id); control tokens are "".
using TokenTexts = std::vector<std::string>;

struct DryParams {
  float multiplier = 0.0f;  // 0 = off
  float base = 1.75f;
  int allowed_length = 2;   // repeats of up to this many tokens are free; at least 1
  int penalty_last_n = 0;   // window; <= 0 the whole history (KoboldCpp/SillyTavern convention)
  std::vector<std::string> sequence_breakers = {"\n", ":", "\"", "*"};
};

// `texts` may be null only when there are no sequence breakers.
std::unique_ptr<Sampler> make_dry(const DryParams& params, std::shared_ptr<const TokenTexts> texts);

// The per-token penalties DRY would subtract for this history (id -> penalty); exposed for
// tests and debugging.
std::vector<std::pair<int32_t, float>> dry_penalties(std::span<const int32_t> history, const DryParams& params,
                                                     const TokenTexts* texts);

}  // namespace limarp
