// RoPE scaling: how a Llama trained at one context length runs at a longer one. Each type
// changes the rotary inverse frequencies (and YaRN the size of q·k) per its publication; the
// rotation itself stays kernels/rope.h, shared by inference, the KV-cache shift and training.
//
//   linear   position interpolation (Chen et al. 2023): inv_freq / s
//   ntk      NTK-aware base (bloc97, KoboldCpp): theta' = theta * s^(d/(d-2))
//   dynamic  Hugging Face's dynamic NTK, its scale taken from the context a run uses:
//            theta' = theta * (s * ctx / orig - (s - 1))^(d/(d-2)) when ctx > orig
//   yarn     YaRN (Peng et al. 2023): a ramp between extrapolated and interpolated
//            frequencies over pairs whose wavelengths lie between beta_fast and beta_slow
//            rotations of the original context; cos/sin times attn_factor * (0.1 ln s + 1)
//   llama3   Llama 3.1's bands: long wavelengths / s, short ones kept, a smooth mix between
//
//   RopeScaling s = config.rope_scaling;  RopeFrequencies f = config.rope_frequencies();
//   kernels::rope_cos_sin(table, pos, f.inv_freq.data(), head_dim, f.mscale);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "formats/metadata.h"

namespace limarp {

enum class RopeScalingType { kNone, kLinear, kNtk, kDynamic, kYarn, kLlama3 };

const char* rope_scaling_name(RopeScalingType type);
std::optional<RopeScalingType> parse_rope_scaling_type(std::string_view name);

struct RopeScaling {
  RopeScalingType type = RopeScalingType::kNone;
  float factor = 1.0f;           // s: the extended context over the original one
  int64_t original_context = 0;  // context the model was trained at; 0: the model's context_length
  // YaRN, with llama.cpp's names and defaults.
  float yarn_ext_factor = 1.0f;   // weight of extrapolation inside the ramp (0: plain interpolation)
  float yarn_attn_factor = 1.0f;  // multiplies the attention factor 0.1 ln s + 1
  float yarn_beta_fast = 32.0f, yarn_beta_slow = 1.0f;
  // Llama 3.1 bands: wavelengths above orig / low are divided by s, below orig / high kept.
  float low_freq_factor = 1.0f, high_freq_factor = 4.0f;
  // Dynamic NTK only: the context of the run, which fixes its scale so cached keys stay valid.
  // Set when a run is configured (model/rope_options.h); never stored in a file.
  int64_t run_context = 0;

  bool active() const { return type != RopeScalingType::kNone; }
  // The original context this scaling refers to, given the model's context_length.
  int64_t original(int64_t context_length) const { return original_context > 0 ? original_context : context_length; }
  Status validate() const;
  std::string describe() const;  // "yarn x4 (original context 4096)"
};

struct RopeFrequencies {
  std::vector<float> inv_freq;  // [head_dim / 2]
  float mscale = 1.0f;          // multiplies cos and sin (YaRN's attention factor)
};

RopeFrequencies rope_frequencies(const RopeScaling& s, float theta, int64_t head_dim, int64_t context_length);

// The base NTK-aware scaling uses for a scale s: theta * s^(d/(d-2)).
double ntk_base(double theta, double s, int64_t head_dim);

// GGUF keys as llama.cpp names them (llama.rope.scaling.type / factor / original_context_length /
// yarn_*; the older llama.rope.scale_linear). llama.cpp knows the types none, linear and yarn:
// the others are written as "none" for llama.cpp plus limarp.rope.scaling.type, so llama.cpp
// still loads the file and runs it unscaled, as it would have without the key.
Result<RopeScaling> rope_scaling_from_metadata(const Metadata& m, const std::string& source);
void rope_scaling_to_metadata(const RopeScaling& s, Metadata& m);

}  // namespace limarp
