// Penalties on tokens already in the history: the repetition penalty with range and slope
// (KoboldCpp semantics) and OpenAI-style presence and frequency penalties.
//
//   chain.add(make_repetition_penalty({.penalty = 1.08f, .range = 320, .slope = 1.0f}));
//   chain.add(make_presence_frequency_penalty({.presence = 0.3f, .frequency = 0.1f, .range = 320}));
//
// Repetition penalty: the window is the last `range` tokens of the history (range < 0: the
// whole history; 0: off). A token in the window has its logit divided by the penalty when
// positive and multiplied when <= 0 (the common fix of CTRL's plain division, which would make
// negative logits more likely). Slope, as in KoboldCpp: the window is split in two halves; the
// newer half (ceil(n/2) tokens) gets the full penalty, a token found only in the older half gets
// 1 + (penalty − 1) · slope. slope 1 (the default) penalises the whole window equally; slope is
// clamped to [0, 1].
//
// Presence/frequency: logit −= presence · [count > 0] + frequency · count, count over the same
// kind of window. (KoboldCpp folds presence into its repetition penalty over the same window;
// placing this sampler right after the repetition penalty, as build_chain does, matches it.)
#pragma once

#include <memory>

#include "sampling/sampler.h"

namespace limarp {

struct RepetitionPenaltyParams {
  float penalty = 1.0f;  // 1 = off
  int range = 320;       // tokens looked back; < 0 whole history; 0 off
  float slope = 1.0f;    // 1 = no slope
};
std::unique_ptr<Sampler> make_repetition_penalty(const RepetitionPenaltyParams& params);

struct PresenceFrequencyParams {
  float presence = 0.0f;
  float frequency = 0.0f;
  int range = 320;  // as for the repetition penalty
};
std::unique_ptr<Sampler> make_presence_frequency_penalty(const PresenceFrequencyParams& params);

}  // namespace limarp
