// What a run asks of RoPE on top of what the model file says: llama.cpp's --rope-* / --yarn-*
// options and KoboldCpp's --ropeconfig, resolved against the file's settings and the run's
// context. When the context exceeds the trained one and nothing was asked, NTK-aware scaling
// with s = context / trained context is applied, as KoboldCpp does (docs/context.md).
//
//   RopeOverrides o;  o.type = RopeScalingType::kYarn;  o.scale = 4;
//   LIMARP_ASSIGN_OR_RETURN(std::string note, apply_rope_overrides(config, o, 16384));
#pragma once

#include <optional>
#include <string>

#include "base/status.h"
#include "model/llama_config.h"

namespace limarp {

struct RopeOverrides {
  std::optional<RopeScalingType> type;
  std::optional<float> scale;       // --rope-scale: context extension factor s
  std::optional<float> freq_base;   // --rope-freq-base: theta
  std::optional<float> freq_scale;  // --rope-freq-scale: 1 / s, llama.cpp's and KoboldCpp's form
  std::optional<int64_t> yarn_orig_ctx;
  std::optional<float> yarn_ext_factor, yarn_attn_factor, yarn_beta_fast, yarn_beta_slow;
  bool automatic = true;  // NTK-aware scaling when the context exceeds the trained one

  bool any() const;
};

// Applies the overrides to config for a run whose context is run_context (0: the default,
// config.usable_context() afterwards). Returns a line for the start-up log saying what RoPE
// the run uses, and why when it was chosen automatically; errors name the option.
Result<std::string> apply_rope_overrides(LlamaConfig& config, const RopeOverrides& o, int64_t run_context);

}  // namespace limarp
