// Adapters as users name them on command lines and in configs: "PATH" or "PATH:SCALE", where
// PATH is a PEFT folder or a GGUF LoRA file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/adapter_set.h"

namespace limarp {

struct AdapterSpec {
  std::string path;
  float scale = 1.0f;
};

// Splits at the last ':' when what follows is a number (paths may contain ':').
Result<AdapterSpec> parse_adapter_spec(const std::string& spec);
Result<AdapterSet> load_adapters(const std::vector<std::string>& specs, const LlamaModel& base);

// The same adapters one by one, for callers that build their own sets from them (the server
// makes one AdapterSet per request scale, all sharing these).
struct LoadedAdapter {
  AdapterSpec spec;
  std::shared_ptr<const LoraAdapter> adapter;
};
Result<std::vector<LoadedAdapter>> load_adapter_list(const std::vector<std::string>& specs, const LlamaModel& base);

}  // namespace limarp
