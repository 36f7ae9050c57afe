// XTC, "exclude top choices": with probability `probability` per token, when two or more
// candidates have p >= threshold, all of them but the least likely are removed. It steers
// away from the most predictable continuations while keeping a still-plausible one.
//
//   chain.add(make_xtc({.threshold = 0.1f, .probability = 0.5f}));
//
// The coin is one uniform number from ctx.rng, drawn only when XTC is active (probability > 0,
// threshold <= 0.5, at least two candidates); without an Rng nothing happens. A threshold
// above 0.5 can never hold two tokens, so it means off, as in llama.cpp and KoboldCpp.
#pragma once

#include <memory>

#include "sampling/sampler.h"

namespace limarp {

struct XtcParams {
  float threshold = 0.1f;
  float probability = 0.0f;  // 0 = off
};
std::unique_ptr<Sampler> make_xtc(const XtcParams& params);

}  // namespace limarp
