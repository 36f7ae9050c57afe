// Temperature: static (logits / T) and KoboldCpp-style dynamic temperature, where T moves
// within [T - range, T + range] with the entropy of the current distribution: a confident
// distribution (low entropy) gets the low end, a flat one the high end.
//
//   chain.add(make_temperature(0.8f));
//   chain.add(make_dynamic_temperature({.temperature = 0.8f, .range = 0.3f, .exponent = 1.0f}));
//
// Dynamic: H = -Σ p ln p over the candidates present, H_max = ln(n),
//          T = T_min + (T_max - T_min) · (H / H_max)^exponent,
//          T_min = max(0, T - range), T_max = T + range.
// A temperature of 0 is not divided by: the chain's greedy draw handles "temperature 0", and
// a dynamic temperature that reaches 0 is floored at kMinDynamicTemperature (1/256, the value
// KoboldCpp uses to imitate greedy sampling).
#pragma once

#include <memory>

#include "sampling/sampler.h"

namespace limarp {

inline constexpr float kMinDynamicTemperature = 1.0f / 256.0f;

// t <= 0 leaves the logits alone (use a greedy draw for temperature 0).
std::unique_ptr<Sampler> make_temperature(float t);

struct DynamicTemperatureParams {
  float temperature = 0.8f;
  float range = 0.0f;     // 0 = static temperature
  float exponent = 1.0f;  // < 0 is treated as 0
};
std::unique_ptr<Sampler> make_dynamic_temperature(const DynamicTemperatureParams& params);

// The temperature the dynamic sampler would use for these candidates (after softmax); exposed
// so tests and logs can show it.
float dynamic_temperature_for(const Candidates& c, const DynamicTemperatureParams& params);

}  // namespace limarp
