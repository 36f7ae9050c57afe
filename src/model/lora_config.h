// PEFT adapter_config.json for LoRA adapters: rank, alpha, rsLoRA, target modules (list or
// regex), per-module rank/alpha patterns, layers_to_transform, modules_to_save. Features
// limarp does not implement (DoRA, bias training, fan_in_fan_out on Llama) are refused by
// name, never silently ignored.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/json_util.h"
#include "base/status.h"

namespace limarp {

// Sane bounds for adapter hyper-parameters, shared with the training config: beyond them a
// value is a typo or a hostile file (rank 10^8 would ask for petabytes; alpha 3e38 turns
// every output into inf and then NaN).
constexpr int64_t kMaxLoraRank = 65536;
constexpr double kMaxLoraAlpha = 1e6;

struct LoraConfig {
  int64_t r = 8;
  double lora_alpha = 8;
  double lora_dropout = 0;  // training only
  bool use_rslora = false;
  std::vector<std::string> target_modules;   // names ("q_proj") ...
  std::string target_regex;                  // ... or one regex over full module names
  std::map<std::string, int64_t> rank_pattern;
  std::map<std::string, double> alpha_pattern;
  std::vector<int64_t> layers_to_transform;  // empty: all layers
  std::vector<std::string> modules_to_save;  // full replacement weights ("lm_head", "embed_tokens")
  std::string base_model_name_or_path;

  static Result<LoraConfig> parse(const Json& j, const std::string& source);
  static Result<LoraConfig> load(const std::string& path);
  Json to_json() const;

  // Scale for a module: alpha / r (or alpha / sqrt(r) with rsLoRA), with per-module overrides
  // from rank_pattern / alpha_pattern matched against the full module name
  // ("model.layers.3.self_attn.q_proj").
  double scale_for(const std::string& module_name, int64_t tensor_rank) const;
  // The rank the config gives a module: rank_pattern's when one matches, else r.
  int64_t rank_for(const std::string& module_name) const;
  // Whether a module is targeted (by list suffix or regex) and in layers_to_transform.
  bool targets(const std::string& module_name, int64_t layer) const;
};

}  // namespace limarp
