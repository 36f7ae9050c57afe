#include "model/lora_config.h"

#include <cmath>
#include <regex>

#include "base/mapped_file.h"

namespace limarp {
namespace {

// PEFT matches pattern keys as a regex against the end of the module name, after a dot.
bool key_matches(const std::string& key, const std::string& module) {
  try {
    return std::regex_match(module, std::regex("(.*\\.)?" + key));
  } catch (const std::regex_error&) {
    return module == key || module.ends_with("." + key);
  }
}

bool valid_rank(double r) { return r >= 1 && r <= static_cast<double>(kMaxLoraRank) && r == std::floor(r); }
bool valid_alpha(double a) { return a > 0 && a <= kMaxLoraAlpha; }  // false for NaN
// Layer indices beyond any model; the adapter checks them against its base (lora_adapter.cc).
constexpr int64_t kMaxLayers = 1 << 16;

}  // namespace

Result<LoraConfig> LoraConfig::parse(const Json& j, const std::string& source) {
  auto fail = [&](const std::string& m) { return make_error("{}: {}", source, m); };
  if (!j.is_object()) return fail("not a JSON object");
  LoraConfig c;
  if (auto it = j.find("peft_type"); it != j.end() && !it->is_null()) {
    if (!it->is_string() || *it != "LORA") return fail(fmt::format("peft_type {} is not supported (only LORA)", it->dump()));
  }
  auto number = [&](const char* key, double& out) -> Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    if (!it->is_number()) return fail(fmt::format("{} must be a number, got {}", key, it->dump()));
    out = it->get<double>();
    return {};
  };
  auto flag = [&](const char* key, bool& out) -> Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    if (!it->is_boolean()) return fail(fmt::format("{} must be true or false, got {}", key, it->dump()));
    out = it->get<bool>();
    return {};
  };
  double r = 8;
  LIMARP_TRY(number("r", r));
  if (!valid_rank(r)) return fail(fmt::format("r = {} is not an integer between 1 and {}", r, kMaxLoraRank));
  c.r = static_cast<int64_t>(r);
  c.lora_alpha = static_cast<double>(c.r);
  LIMARP_TRY(number("lora_alpha", c.lora_alpha));
  if (!valid_alpha(c.lora_alpha))
    return fail(fmt::format("lora_alpha = {} is not a positive number of at most {}", c.lora_alpha, kMaxLoraAlpha));
  LIMARP_TRY(number("lora_dropout", c.lora_dropout));
  if (!(c.lora_dropout >= 0 && c.lora_dropout < 1))
    return fail(fmt::format("lora_dropout = {} is not in [0, 1)", c.lora_dropout));
  LIMARP_TRY(flag("use_rslora", c.use_rslora));
  bool dora = false, fan_in_fan_out = false;
  LIMARP_TRY(flag("use_dora", dora));
  if (dora) return fail("use_dora: DoRA adapters are not supported");
  LIMARP_TRY(flag("fan_in_fan_out", fan_in_fan_out));
  if (fan_in_fan_out) return fail("fan_in_fan_out: true is for Conv1D models (GPT-2); Llama adapters have it false");
  if (auto it = j.find("bias"); it != j.end() && !it->is_null() && *it != "none")
    return fail(fmt::format("bias {} is not supported (only \"none\")", it->dump()));
  if (auto it = j.find("target_modules"); it != j.end() && !it->is_null()) {
    if (it->is_string()) {
      c.target_regex = it->get<std::string>();
      try {
        (void)std::regex(c.target_regex);
      } catch (const std::regex_error& e) {
        return fail(fmt::format("target_modules regex {} is invalid: {}", it->dump(), e.what()));
      }
    } else if (it->is_array()) {
      for (const auto& m : *it) {
        if (!m.is_string()) return fail("target_modules entries must be strings");
        c.target_modules.push_back(m.get<std::string>());
      }
    } else {
      return fail("target_modules must be a list of names or a regex string");
    }
  }
  for (const char* key : {"rank_pattern", "alpha_pattern"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_object()) return fail(fmt::format("{} must be an object", key));
    for (const auto& [k, v] : it->items()) {
      if (!v.is_number()) return fail(fmt::format("{}[{}] must be a number", key, k));
      const double x = v.get<double>();
      if (std::string(key) == "rank_pattern") {
        if (!valid_rank(x)) return fail(fmt::format("rank_pattern[{}] = {} is not an integer between 1 and {}", k, x, kMaxLoraRank));
        c.rank_pattern[k] = static_cast<int64_t>(x);
      } else {
        if (!valid_alpha(x)) return fail(fmt::format("alpha_pattern[{}] = {} is not a positive number of at most {}", k, x, kMaxLoraAlpha));
        c.alpha_pattern[k] = x;
      }
    }
  }
  if (auto it = j.find("layers_to_transform"); it != j.end() && !it->is_null()) {
    if (it->is_number_integer()) c.layers_to_transform.push_back(it->get<int64_t>());
    else if (it->is_array()) {
      for (const auto& l : *it) {
        if (!l.is_number_integer()) return fail("layers_to_transform entries must be integers");
        c.layers_to_transform.push_back(l.get<int64_t>());
      }
    } else {
      return fail("layers_to_transform must be an integer or a list of integers");
    }
  }
  for (int64_t l : c.layers_to_transform)
    if (l < 0 || l >= kMaxLayers) return fail(fmt::format("layers_to_transform entry {} is not a layer index", l));
  if (auto it = j.find("layers_pattern"); it != j.end() && !it->is_null() && !(it->is_string() && *it == "layers") &&
                                          !(it->is_array() && it->empty()))
    return fail(fmt::format("layers_pattern {} is not supported (Llama's layers are \"layers\")", it->dump()));
  if (auto it = j.find("modules_to_save"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return fail("modules_to_save must be a list");
    for (const auto& m : *it) {
      if (!m.is_string()) return fail("modules_to_save entries must be strings");
      c.modules_to_save.push_back(m.get<std::string>());
    }
  }
  if (auto it = j.find("base_model_name_or_path"); it != j.end() && it->is_string())
    c.base_model_name_or_path = it->get<std::string>();
  return c;
}

Result<LoraConfig> LoraConfig::load(const std::string& path) {
  LIMARP_ASSIGN_OR_RETURN(Json j, read_json_file(path, {size_t{1} << 20, 16}));
  return parse(j, path);
}

Json LoraConfig::to_json() const {
  Json j;
  j["peft_type"] = "LORA";
  j["task_type"] = "CAUSAL_LM";
  j["r"] = r;
  j["lora_alpha"] = lora_alpha;
  j["lora_dropout"] = lora_dropout;
  j["use_rslora"] = use_rslora;
  j["use_dora"] = false;
  j["bias"] = "none";
  j["fan_in_fan_out"] = false;
  j["inference_mode"] = true;
  if (target_regex.empty()) j["target_modules"] = target_modules;
  else j["target_modules"] = target_regex;
  j["rank_pattern"] = rank_pattern;
  j["alpha_pattern"] = alpha_pattern;
  j["layers_to_transform"] = layers_to_transform.empty() ? Json(nullptr) : Json(layers_to_transform);
  j["modules_to_save"] = modules_to_save.empty() ? Json(nullptr) : Json(modules_to_save);
  j["base_model_name_or_path"] = base_model_name_or_path;
  return j;
}

double LoraConfig::scale_for(const std::string& module, int64_t tensor_rank) const {
  double rank = static_cast<double>(tensor_rank > 0 ? tensor_rank : r);
  double alpha = lora_alpha;
  for (const auto& [k, v] : rank_pattern)
    if (key_matches(k, module)) rank = static_cast<double>(v);
  for (const auto& [k, v] : alpha_pattern)
    if (key_matches(k, module)) alpha = v;
  return use_rslora ? alpha / std::sqrt(rank) : alpha / rank;
}

int64_t LoraConfig::rank_for(const std::string& module) const {
  int64_t rank = r;
  for (const auto& [k, v] : rank_pattern)
    if (key_matches(k, module)) rank = v;
  return rank;
}

bool LoraConfig::targets(const std::string& module, int64_t layer) const {
  if (!layers_to_transform.empty() &&
      std::find(layers_to_transform.begin(), layers_to_transform.end(), layer) == layers_to_transform.end())
    return false;
  if (!target_regex.empty()) {
    try {
      return std::regex_match(module, std::regex(target_regex));
    } catch (const std::regex_error&) {
      return false;
    }
  }
  if (target_modules.empty()) return true;
  for (const auto& t : target_modules) {
    if (t == "all-linear") return true;
    if (module == t || module.ends_with("." + t)) return true;
  }
  return false;
}

}  // namespace limarp
