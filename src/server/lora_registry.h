// The LoRA adapters a server has loaded (--lora PATH[:SCALE]) and their global scales, which
// POST /lora-adapters changes at run time. A request never reads the global scales while it
// runs: its scales are copied into its job when it arrives (or taken from its own "lora"
// field), so changing them cannot disturb generations already under way.
//
//   GET  /lora-adapters  -> [{"id": 0, "path": "limarp-adapter", "scale": 1.0}]
//   POST /lora-adapters  [{"id": 0, "scale": 0.5}]        (adapters not listed: 0)
//   request body         "lora": [{"id": 0, "scale": 0.25}] (this request only; not listed: 0)
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/json_util.h"
#include "base/status.h"
#include "model/lora_adapter.h"

namespace limarp::server {

class LoraRegistry {
 public:
  struct Entry {
    std::string path;
    std::shared_ptr<const LoraAdapter> adapter;
    float scale = 1.0f;
  };

  void add(std::string path, std::shared_ptr<const LoraAdapter> adapter, float scale);
  size_t size() const;
  std::vector<std::shared_ptr<const LoraAdapter>> adapters() const;
  std::vector<float> scales() const;
  // [{"id","path","scale"}]
  Json to_json() const;
  // Parses [{"id": N, "scale": S}] into a full scale vector (unlisted ids: 0). Errors name
  // the field: "lora[1].id 7 is not a loaded adapter (0..1)".
  Result<std::vector<float>> parse_scales(const Json& list, std::string_view field) const;
  void set_scales(std::vector<float> scales);

 private:
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
};

}  // namespace limarp::server
