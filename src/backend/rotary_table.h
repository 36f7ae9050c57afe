// The rotary frequencies of a run as backends receive them (model/rope_scaling.h computes them
// from the config and the command line).
#pragma once

#include <cstdint>

namespace limarp {

struct RotaryTable {
  const float* inv_freq = nullptr;  // [head_dim / 2]
  int64_t head_dim = 0;
  float mscale = 1.0f;  // multiplies cos and sin (YaRN's attention factor)
};

}  // namespace limarp
