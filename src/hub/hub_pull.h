// The one entry point from Hub names to local files. `limarp pull` calls pull(); everything
// that opens a model or adapter (-m, --lora, a training config's base_model / lora_model_dir)
// passes its path through resolve_model_path(), which leaves ordinary paths alone.
//
//   LIMARP_ASSIGN_OR_RETURN(std::string path, hub::resolve_model_path("hf:ORG/NAME:Q4_K_M"));
//   // path: <cache>/models--ORG--NAME/snapshots/<commit>/name.Q4_K_M.gguf
//
// Online, the Hub says which commit the revision names and which files exist; files already
// in the cache cost no download. With HF_HUB_OFFLINE=1, or when the Hub cannot be reached,
// the cached snapshot the revision last pointed at is used.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "hub/hub_name.h"
#include "hub/hub_settings.h"

namespace limarp::hub {

struct PullOptions {
  std::vector<std::string> includes;  // globs replacing the automatic file choice
  std::string local_dir;              // empty: the Hub cache
};

struct PullResult {
  std::string path;                // what a loader opens: a GGUF file, or the snapshot folder
  std::string commit;
  std::vector<std::string> files;  // repository paths now on disk
};

Result<PullResult> pull(const HubName& name, const PullOptions& options, const HubSettings& settings);

// "hf:..." → a local path (downloading what is missing, settings from the environment); any
// other text is returned unchanged.
Result<std::string> resolve_model_path(const std::string& path_or_name);

}  // namespace limarp::hub
