// Logit bias (add a number to chosen tokens' logits) and banned tokens (their logit becomes
// -inf, so they can never be drawn unless every token is banned).
//
//   chain.add(make_logit_bias({{13, -2.0f}, {29871, 1.5f}}));   // id -> bias
//   chain.add(make_banned_tokens({2}));                         // e.g. ban EOS
//
// Ids outside the vocabulary are ignored (a client may send a bias for another model's
// vocabulary; failing the request for it would be unhelpful). A bias of -inf bans.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "sampling/sampler.h"

namespace limarp {

std::unique_ptr<Sampler> make_logit_bias(std::map<int32_t, float> bias);
std::unique_ptr<Sampler> make_banned_tokens(std::vector<int32_t> banned);

}  // namespace limarp
