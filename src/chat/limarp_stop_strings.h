// LimaRP's own stop strings; the matcher that applies them is infer/stop_strings.h.
#pragma once

#include <string>
#include <vector>

#include "chat/chat_state.h"

namespace limarp {

// LimaRP's stop strings: "### Input", "### Response", "### Instruction" (a new block of the
// format; without the colon and the newline, so the card's "### Input" typo and a block opened
// mid-line also stop), and the impersonation guards "\n{user}:" and "\n{user} :" (a line
// where the model starts writing the user's turn). A line that merely begins with the user's
// name ("\nKazuma walks in") does not stop: narration often starts with a name.
std::vector<std::string> default_stop_strings(const ChatState& chat);

}  // namespace limarp
