// CHAT.json: a conversation on disk, the same format for `limarp prompt --chat` and for the
// terminal chat's /save and /load.
//
//   {"char": "Aqua", "user": "Kazuma",
//    "char_persona": "...", "user_persona": "...", "scenario": "...",
//    "examples": "<START>\n{{user}}: ...\n{{char}}: ...",          (optional)
//    "length": "medium",
//    "messages": [{"role": "user", "text": "Hi!"},
//                 {"role": "char", "text": "Hello!", "length": "short"}]}   (length optional)
//
//   LIMARP_ASSIGN_OR_RETURN(ChatState chat, load_chat_file("chat.json"));
//   LIMARP_TRY(save_chat_file("chat.json", chat));   // atomic: temporary file + rename
//
// Every field is optional (strings default to "", length to medium, messages to none);
// unknown keys are ignored. A field of the wrong type is an error naming it:
// "chat.json: messages[2].role must be \"user\" or \"char\", got \"narrator\"".
#pragma once

#include <string>
#include <string_view>

#include "base/json_util.h"
#include "base/status.h"
#include "chat/chat_state.h"

namespace limarp {

Result<ChatState> chat_from_json(const Json& json, std::string_view source);
// Keys in the order shown above; "examples" and per-message "length" only when set.
std::string chat_to_json_text(const ChatState& chat);

Result<ChatState> load_chat_file(const std::string& path);
Status save_chat_file(const std::string& path, const ChatState& chat);

}  // namespace limarp
