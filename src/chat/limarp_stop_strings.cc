#include "chat/limarp_stop_strings.h"

#include "chat/limarp_prompt.h"

namespace limarp {

std::vector<std::string> default_stop_strings(const ChatState& chat) {
  const std::string user = effective_user_name(chat);
  return {"### Input", "### Response", "### Instruction", "\n" + user + ":", "\n" + user + " :"};
}

}  // namespace limarp
