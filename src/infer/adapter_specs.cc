#include "infer/adapter_specs.h"

#include <charconv>

#include "base/log.h"
#include "hub/hub_pull.h"

namespace limarp {

Result<AdapterSpec> parse_adapter_spec(const std::string& spec) {
  AdapterSpec s{spec, 1.0f};
  const auto colon = spec.rfind(':');
  if (colon != std::string::npos && colon + 1 < spec.size()) {
    const std::string tail = spec.substr(colon + 1);
    char* end = nullptr;
    const float v = std::strtof(tail.c_str(), &end);
    if (end == tail.c_str() + tail.size()) {
      s.path = spec.substr(0, colon);
      s.scale = v;
    }
  }
  if (s.path.empty()) return make_error("adapter {:?}: empty path", spec);
  return s;
}

Result<std::vector<LoadedAdapter>> load_adapter_list(const std::vector<std::string>& specs, const LlamaModel& base) {
  std::vector<LoadedAdapter> out;
  for (const auto& spec : specs) {
    LIMARP_ASSIGN_OR_RETURN(AdapterSpec s, parse_adapter_spec(spec));
    LIMARP_ASSIGN_OR_RETURN(const std::string path, hub::resolve_model_path(s.path));
    LIMARP_ASSIGN_OR_RETURN(LoraAdapter a, LoraAdapter::load(path, base));
    log::info("adapter {}: {} LoRA pairs, rank {}, {:.1f} MiB, user scale {}", s.path, a.pair_count(), a.max_rank(),
              static_cast<double>(a.bytes()) / (1 << 20), s.scale);
    out.push_back({s, std::make_shared<LoraAdapter>(std::move(a))});
  }
  return out;
}

Result<AdapterSet> load_adapters(const std::vector<std::string>& specs, const LlamaModel& base) {
  LIMARP_ASSIGN_OR_RETURN(std::vector<LoadedAdapter> list, load_adapter_list(specs, base));
  AdapterSet set;
  for (auto& a : list) set.add(a.adapter, a.spec.scale);
  return set;
}

}  // namespace limarp
