// The RoPE options every command that runs a model shares (llama.cpp's names, KoboldCpp's
// --ropeconfig), in one place so their meaning and help stay identical across commands.
#include <fmt/format.h>

#include "base/log.h"
#include "commands.h"

namespace limarp::cli {

void add_rope_options(CLI::App& app, RopeOverrides& o) {
  const std::string group = "RoPE scaling (docs/context.md)";
  auto real = [&](const char* name, std::optional<float>& slot, const char* help) {
    app.add_option_function<float>(name, [&slot](const float& v) { slot = v; }, help)->group(group)->type_name("X");
  };
  app.add_option_function<std::string>(
         "--rope-scaling", [&o](const std::string& name) { o.type = parse_rope_scaling_type(name); },
         "RoPE scaling type: none, linear (position interpolation), ntk (NTK-aware base), yarn "
         "(default: the model file's; with none given and --ctx above the trained context, ntk)")
      ->check(CLI::IsMember({"none", "linear", "ntk", "yarn"}))
      ->type_name("TYPE")
      ->group(group);
  real("--rope-scale", o.scale, "Context extension factor s (e.g. 2 runs a 4k model at 8k); linear if no type is given");
  real("--rope-freq-base", o.freq_base, "RoPE base frequency theta (default: the model's, 10000 for Llama-2)");
  real("--rope-freq-scale", o.freq_scale, "RoPE frequency scale, 1/s (llama.cpp's form of --rope-scale)");
  app.add_option_function<int64_t>(
         "--yarn-orig-ctx", [&o](const int64_t& v) { o.yarn_orig_ctx = v; },
         "Context the model was trained at, for YaRN and dynamic scaling (default: the model's)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 22))
      ->type_name("N")
      ->group(group);
  real("--yarn-ext-factor", o.yarn_ext_factor, "YaRN extrapolation mix inside the ramp (default 1; 0 = linear)");
  real("--yarn-attn-factor", o.yarn_attn_factor, "YaRN attention magnitude multiplier (default 1)");
  real("--yarn-beta-fast", o.yarn_beta_fast, "YaRN: pairs turning more often than this keep their frequency (default 32)");
  real("--yarn-beta-slow", o.yarn_beta_slow, "YaRN: pairs turning less often than this are interpolated (default 1)");
  app.add_option_function<std::vector<float>>(
         "--ropeconfig",
         [&o](const std::vector<float>& v) {
           o.freq_scale = v[0];
           o.freq_base = v[1];
         },
         "KoboldCpp's form: frequency scale (1/s) and base, e.g. --ropeconfig 0.5 10000")
      ->expected(2)
      ->type_name("SCALE BASE")
      ->group(group);
}

Status configure_rope(LlamaModel& model, const RopeOverrides& o, int64_t ctx) {
  auto line = model.apply_rope_overrides(o, ctx);
  if (!line.ok()) return line.error();
  log::info("{}", *line);
  return {};
}

}  // namespace limarp::cli
