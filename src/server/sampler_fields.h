// The sampler keys of generation requests, in every spelling the supported APIs use: KoboldCpp
// (/api/v1/generate), OpenAI and llama.cpp (/v1/completions, /completion), text-generation-webui
// and TabbyAPI. The names are the clients'; the sampling layer knows only SamplerSettings.
//
//   SamplerSettings s = defaults;
//   LIMARP_TRY(apply_sampler_json(s, request_body, "request"));
//
// KoboldCpp names: temperature, dynatemp_range, dynatemp_exponent, top_k, top_p, min_p,
// typical, tfs, top_a, rep_pen, rep_pen_range, rep_pen_slope, presence_penalty,
// frequency_penalty, dry_*, xtc_*, mirostat, mirostat_tau, mirostat_eta, sampler_order,
// sampler_seed, logit_bias ({"id": bias}), banned_tokens (ids), banned_strings,
// custom_token_bans ("1954, 13" or [1954, 13]).
// OpenAI/llama.cpp aliases: typical_p, repetition_penalty, repeat_penalty, repeat_last_n,
// seed, tfs_z, dry_penalty_range... (see the .cc).
#pragma once

#include <string_view>

#include "base/json_util.h"
#include "base/status.h"
#include "sampling/sampler_settings.h"

namespace limarp::server {

// Reads the sampler keys of a request body into `settings`; other keys are ignored, keys absent
// leave the setting alone. Wrong types are errors naming the key; the result is validated.
Status apply_sampler_json(SamplerSettings& settings, const Json& body, std::string_view source);

}  // namespace limarp::server
