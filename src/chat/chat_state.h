// A conversation as the prompt renderer sees it: who plays whom, the personas, the scenario,
// the requested reply length, and the messages so far. The CHAT.json file format
// (chat_file.h) is this struct written out; a character card (character_card.h) fills it.
//
//   ChatState chat;
//   chat.char_name = "Aqua";  chat.user_name = "Kazuma";
//   chat.char_persona = "A goddess of water...";
//   chat.messages.push_back({ChatRole::kUser, "Hi!"});
//   std::string prompt = render_limarp_prompt(chat).text();
//
// Texts may contain the {{char}} / {{user}} macros (and <BOT> / <USER>); the renderer
// substitutes them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "chat/length_level.h"

namespace limarp {

enum class ChatRole { kUser, kChar };

// "user" / "char".
const char* chat_role_name(ChatRole role);
// "user" or "char"; also "assistant"/"bot"/"model" as char and "human" as user, so chats
// exported by other tools load.
Result<ChatRole> parse_chat_role(std::string_view text);

struct ChatMessage {
  ChatRole role = ChatRole::kUser;
  std::string text;
  // Length tag of this reply when headers carry the modifier on every response (training
  // data labels each reply with its own length); unset means the chat's level.
  std::optional<LengthLevel> length;

  bool operator==(const ChatMessage&) const = default;
};

struct ChatState {
  std::string char_name;
  std::string user_name;
  std::string char_persona;
  std::string user_persona;
  std::string scenario;
  // Example dialogue in SillyTavern's mes_example form ("<START>\n{{user}}: ...\n{{char}}: ...").
  std::string examples;
  LengthLevel length = kDefaultLengthLevel;
  std::vector<ChatMessage> messages;

  bool operator==(const ChatState&) const = default;
};

// Names used when a chat leaves them empty: the model card's own placeholders, so a prompt
// never shows "'s Persona:" or ": text" with nothing before it.
inline constexpr std::string_view kDefaultCharName = "Character";
inline constexpr std::string_view kDefaultUserName = "User";

}  // namespace limarp
