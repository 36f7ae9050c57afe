#include "model/rope_options.h"

#include <fmt/format.h>

#include <cmath>

namespace limarp {

bool RopeOverrides::any() const {
  return type || scale || freq_base || freq_scale || yarn_orig_ctx || yarn_ext_factor || yarn_attn_factor ||
         yarn_beta_fast || yarn_beta_slow;
}

namespace {
Result<float> requested_factor(const RopeOverrides& o) {
  if (o.freq_scale && !(*o.freq_scale > 0 && *o.freq_scale <= 1024))
    return make_error("--rope-freq-scale {} is out of range (0..1024]", *o.freq_scale);
  if (o.scale && !(*o.scale > 0 && *o.scale <= 1024)) return make_error("--rope-scale {} is out of range (0..1024]", *o.scale);
  const float from_freq = o.freq_scale ? 1.0f / *o.freq_scale : 0.0f;
  if (o.scale && o.freq_scale && std::abs(from_freq - *o.scale) > 1e-4f * *o.scale)
    return make_error("--rope-scale {} and --rope-freq-scale {} disagree (expected --rope-freq-scale {})", *o.scale,
                      *o.freq_scale, 1.0f / *o.scale);
  return o.scale ? *o.scale : from_freq;
}
}  // namespace

Result<std::string> apply_rope_overrides(LlamaConfig& config, const RopeOverrides& o, int64_t run_context) {
  if (o.freq_base) {
    if (!(*o.freq_base > 1)) return make_error("--rope-freq-base {} must be above 1", *o.freq_base);
    config.rope_theta = *o.freq_base;
  }
  LIMARP_ASSIGN_OR_RETURN(float factor, requested_factor(o));
  RopeScaling& s = config.rope_scaling;
  if (o.type) s.type = *o.type;
  // A bare scale means linear interpolation, as llama.cpp reads --rope-scale without --rope-scaling.
  else if (factor > 0 && !s.active()) s.type = RopeScalingType::kLinear;
  if (factor > 0) s.factor = factor;
  if (o.yarn_orig_ctx) s.original_context = *o.yarn_orig_ctx;
  if (o.yarn_ext_factor) s.yarn_ext_factor = *o.yarn_ext_factor;
  if (o.yarn_attn_factor) s.yarn_attn_factor = *o.yarn_attn_factor;
  if (o.yarn_beta_fast) s.yarn_beta_fast = *o.yarn_beta_fast;
  if (o.yarn_beta_slow) s.yarn_beta_slow = *o.yarn_beta_slow;
  if (s.active() && o.type && !o.scale && !o.freq_scale && s.factor == 1.0f && run_context > config.context_length)
    s.factor = static_cast<float>(static_cast<double>(run_context) / static_cast<double>(config.context_length));

  std::string why;
  if (!s.active() && !o.any() && o.automatic && run_context > config.context_length) {
    // KoboldCpp's convenience: a longer context with nothing asked gets NTK-aware scaling.
    s.type = RopeScalingType::kNtk;
    s.factor = static_cast<float>(static_cast<double>(run_context) / static_cast<double>(config.context_length));
    why = fmt::format(" (automatic: context {} exceeds the trained {}; NTK-aware base {} * s^(d/(d-2)) = {:.0f})",
                      run_context, config.context_length, config.rope_theta,
                      ntk_base(config.rope_theta, s.factor, config.head_dim()));
  }
  s.run_context = run_context > 0 ? run_context : config.usable_context();
  if (Status st = config.validate(); !st.ok()) return make_error("rope options: {}", st.error().message());
  return fmt::format("rope: freq_base {}, scaling {}{}", config.rope_theta, s.describe(), why);
}

}  // namespace limarp
