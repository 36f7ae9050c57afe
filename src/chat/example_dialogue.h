// Example dialogue from a character card's mes_example: blocks that start with <START>, lines
// that start with "{{user}}:" or "{{char}}:" (after macro substitution, "Name:"), continued by
// the lines that follow them. The renderers show the examples as ordinary turns right after the
// instruction block, as SillyTavern does for instruct formats.
//
//   auto turns = parse_example_dialogue("<START>\n{{user}}: Hi\n{{char}}: Hello!", {"Aqua", "Kazuma"});
//   // {user "Hi"}, {char "Hello!"}
#pragma once

#include <string_view>
#include <vector>

#include "chat/chat_state.h"
#include "chat/macros.h"

namespace limarp {

// Text before the first speaker line of a block (a heading, "{Example Dialogue:}") is dropped.
// Message texts are trimmed; empty messages are kept (a speaker line with nothing after it).
std::vector<ChatMessage> parse_example_dialogue(std::string_view mes_example, const MacroNames& names);

}  // namespace limarp
