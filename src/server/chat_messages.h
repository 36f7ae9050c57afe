// OpenAI-style chat messages to a LimaRP conversation, so /v1/chat/completions renders the
// prompt the model was trained on instead of some generic template.
//
//   {"messages": [{"role": "system", "content": "Aqua's Persona: A goddess...\n\nScenario: ..."},
//                 {"role": "user", "name": "Kazuma", "content": "Hi"}],
//    "char_name": "Aqua", "length": "long"}
//
// Mapping:
//   - names: char_name / user_name keys, else the `name` of the first assistant / user message,
//     else a name found in a system "X's Persona:" paragraph (for the character);
//   - system messages (and "developer") are split into paragraphs: "Scenario: ..." goes to the
//     scenario, "{user}'s Persona: ..." to the user persona, "X's Persona: ..." and unlabelled
//     paragraphs to the character's persona; "### Instruction:" and the "Play the role of"
//     line are dropped (the renderer writes its own); the keys char_persona, user_persona and
//     scenario, when given, replace what system messages would fill;
//   - user / assistant messages become the chat's turns; a "Name: " prefix repeating the
//     speaker's name is removed; content may be a string or a list of {"type": "text"} parts;
//   - a final assistant message is continued (PromptTail::kContinueLast); an empty one is
//     dropped, so the model writes a new reply;
//   - examples (mes_example form) and length (tiny ... unlimited) as extra keys.
// Wrong types are errors naming the field: "messages[2].role must be one of system, user,
// assistant".
#pragma once

#include "base/json_util.h"
#include "base/status.h"
#include "chat/chat_state.h"
#include "chat/rendered_prompt.h"

namespace limarp::server {

struct ChatFromMessages {
  ChatState chat;
  PromptTail tail = PromptTail::kOpenResponse;
};

Result<ChatFromMessages> chat_from_messages(const Json& body);

}  // namespace limarp::server
