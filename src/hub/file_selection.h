// Which files of a repository limarp needs, from the repository's file list:
//   GGUF repository      the file(s) of one quantization (":Q4_K_M"; every shard of a split
//                        model "-00001-of-00003.gguf"); with no tag, the only one or Q4_K_M
//   PEFT adapter         adapter_config.json + adapter_model.safetensors (or .bin)
//   Transformers model   config and tokenizer files + safetensors shards and their index
//                        (or the pytorch_model*.bin files when there are no safetensors)
//   ":FILE"              that file (with its sibling shards when it is one)
//   --include GLOB...    every file matching a glob instead ('*' also matches '/')
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "hub/hub_name.h"

namespace limarp::hub {

struct Selection {
  std::vector<std::string> files;  // repository paths to fetch, sorted
  std::string primary;             // the file a loader opens; empty: the snapshot folder
};

Result<Selection> select_files(const std::vector<std::string>& available, const HubName& name,
                               const std::vector<std::string>& includes);

// "Q4_K_M" for "llama-2-7b.Q4_K_M.gguf" and its shards; empty when the name carries none.
std::string quant_tag_of(const std::string& gguf_path);

}  // namespace limarp::hub
