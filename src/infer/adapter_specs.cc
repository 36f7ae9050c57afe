#include "infer/adapter_specs.h"

#include <charconv>

#include "base/log.h"

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

Result<AdapterSet> load_adapters(const std::vector<std::string>& specs, const LlamaModel& base) {
  AdapterSet set;
  for (const auto& spec : specs) {
    LIMARP_ASSIGN_OR_RETURN(AdapterSpec s, parse_adapter_spec(spec));
    LIMARP_ASSIGN_OR_RETURN(LoraAdapter a, LoraAdapter::load(s.path, base));
    log::info("adapter {}: {} LoRA pairs, rank {}, {:.1f} MiB, user scale {}", s.path, a.pair_count(), a.max_rank(),
              static_cast<double>(a.bytes()) / (1 << 20), s.scale);
    set.add(std::make_shared<LoraAdapter>(std::move(a)), s.scale);
  }
  return set;
}

}  // namespace limarp
