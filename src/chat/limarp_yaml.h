// LimaRP dataset conversations (one YAML file each, as published) as chats:
//
//   personas:  {<FIRST>: "...", <SECOND>: "..."}
//   names:     {<FIRST>: Mira, <SECOND>: Tom}
//   scenario:  "..."
//   conversation: [{name: <SECOND>, text: "..."}, {name: <FIRST>, text: "..."}, ...]
//
// <FIRST> is the character the model plays, <SECOND> the user. Placeholders in every text are
// replaced by the names; LimaRP's "---" becomes an em dash. Errors name the file and the key.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "chat/chat_state.h"

namespace limarp {

Result<ChatState> parse_limarp_conversation(std::string_view yaml_text, const std::string& source);
Result<ChatState> load_limarp_conversation(const std::string& path);
// Every *.yaml / *.yml file of a folder (sorted by name), or one file.
Result<std::vector<ChatState>> load_limarp_conversations(const std::string& path);

}  // namespace limarp
