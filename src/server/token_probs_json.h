// Token probabilities in each API's documented shape (which distribution they describe:
// sampling/token_probs.h). A token's text is its raw bytes (a byte-fallback token may be part
// of a character; JSON shows that as U+FFFD, and the OpenAI shapes also give the bytes).
//
//   llama.cpp  completion_probabilities: [{"id", "content": "tok", "prob", "probs": [{"id", "tok_str": "a",
//              "prob": 0.5}, ...]}] (the shape SillyTavern 1.12 reads: probabilities, not logs)
//   OpenAI completions  logprobs: {"tokens": [...], "token_logprobs": [...],
//              "top_logprobs": [{"a": -0.7, ...}], "text_offset": [...]} (offsets in characters
//              from the start of the completion, continued across a stream's chunks)
//   OpenAI chat, KoboldCpp  logprobs: {"content": [{"token", "logprob", "bytes",
//              "top_logprobs": [{"token", "logprob", "bytes"}]}]}
// A probability of 0 has no finite log: such alternatives are never listed, and a chosen token
// with p = 0 (only possible when every token was banned) reports -9999, as OpenAI does.
#pragma once

#include <cstdint>
#include <vector>

#include "base/json_util.h"
#include "sampling/token_probs.h"
#include "tokenizer/tokenizer.h"

namespace limarp::server {

Json llamacpp_probs_json(const std::vector<TokenProbs>& probs, const Tokenizer& tok);
// `offset` is where the first token starts; it is advanced past the last.
Json openai_completion_logprobs_json(const std::vector<TokenProbs>& probs, const Tokenizer& tok, int64_t& offset);
Json openai_chat_logprobs_json(const std::vector<TokenProbs>& probs, const Tokenizer& tok);

}  // namespace limarp::server
