// From a request body to a JobSpec: the keys every generation endpoint shares, in each API's
// spellings, and the prompt as token ids fitted into the context.
//
//   LIMARP_ASSIGN_OR_RETURN(JobSpec spec, read_generation_fields(body, ctx, Dialect::kKobold));
//   LIMARP_ASSIGN_OR_RETURN(spec.request.prompt, read_raw_prompt(body, {"prompt"}, *ctx.tokenizer));
//   bool truncated = fit_raw_prompt(spec.request.prompt, spec.request.max_tokens, ctx.scheduler->context(), n_keep);
//
// Shared keys: every sampler key apply_sampler_json (sampler_fields.h) knows; the token limit (Kobold max_length;
// max_tokens, max_new_tokens, max_completion_tokens, n_predict; -1 = the server's limit);
// stop strings (stop_sequence, stop, stopping_strings); ignore_eos, ban_eos_token and
// use_default_badwordsids (EOS banned, generation runs to the limit); genkey; lora; id_slot;
// cache_prompt; trim_unfinished_sentence; the grammar keys (grammar_fields.h); the token
// probability keys (n_probs; logprobs, top_logprobs).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "server/job.h"
#include "server/server_context.h"

namespace limarp::server {

enum class Dialect { kKobold, kOpenAI, kLlamaCpp, kNative };

Result<JobSpec> read_generation_fields(const Json& body, const ServerContext& ctx, Dialect dialect);

// A raw prompt: a string (encoded with BOS), an array of token ids (used as given), or an
// array holding one string. Missing or of another type: an error naming the key.
Result<std::vector<int32_t>> read_raw_prompt(const Json& body, std::initializer_list<std::string_view> keys,
                                             const Tokenizer& tok);

// Makes prompt + reply fit the context: the reply gets at most half of it, and a prompt still
// too long loses tokens after its first `n_keep` (BOS always kept), newest tokens kept — the
// session then shifts the removed span out of the cache instead of recomputing. Returns
// whether anything was cut. Lowers max_tokens when needed.
bool fit_raw_prompt(std::vector<int32_t>& prompt, int64_t& max_tokens, int64_t context, int64_t n_keep);

}  // namespace limarp::server
