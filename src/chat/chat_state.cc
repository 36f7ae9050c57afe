#include "chat/chat_state.h"

namespace limarp {

const char* chat_role_name(ChatRole role) { return role == ChatRole::kUser ? "user" : "char"; }

Result<ChatRole> parse_chat_role(std::string_view text) {
  if (text == "user" || text == "human") return ChatRole::kUser;
  if (text == "char" || text == "assistant" || text == "bot" || text == "model") return ChatRole::kChar;
  return make_error("role must be \"user\" or \"char\", got \"{}\"", text);
}

}  // namespace limarp
