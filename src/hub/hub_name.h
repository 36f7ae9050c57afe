// Names of Hugging Face Hub repositories as users write them: "hf:ORG/NAME[@REVISION][:TAG]",
// accepted wherever a model or adapter path is, and "ORG/NAME..." (the prefix optional) by
// `limarp pull`. TAG is a quantization ("Q4_K_M") for GGUF repositories, or a file inside the
// repository when it contains a '.' or a '/' ("llama-2-7b.Q4_K_M.gguf").
//
//   if (is_hub_name(path)) { LIMARP_ASSIGN_OR_RETURN(HubName n, parse_hub_name(path)); ... }
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace limarp::hub {

inline constexpr std::string_view kHubPrefix = "hf:";

struct HubName {
  std::string repo;               // "ORG/NAME"
  std::string revision = "main";  // branch, tag or commit
  std::string quant;              // upper-cased quantization tag, or empty
  std::string file;               // one file inside the repository, or empty

  std::string display() const;    // "hf:ORG/NAME@REV:TAG", for messages
};

bool is_hub_name(std::string_view text);

// Accepts the name with or without the "hf:" prefix.
Result<HubName> parse_hub_name(std::string_view text);

// A revision that names a commit (40 hex digits) needs no ref lookup.
bool is_commit_hash(std::string_view revision);

}  // namespace limarp::hub
