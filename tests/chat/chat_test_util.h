// Conversations shared by the chat tests.
#pragma once

#include "chat/chat_state.h"

namespace limarp::testing {

// Personas, scenario, user first, three messages.
inline ChatState aqua_chat() {
  ChatState c;
  c.char_name = "Aqua";
  c.user_name = "Kazuma";
  c.char_persona = "A goddess of water. Cheerful, vain and often useless.";
  c.user_persona = "A NEET who was sent to another world.";
  c.scenario = "{{char}} and {{user}} sit in the guild hall, out of money again.";
  c.length = LengthLevel::kMedium;
  c.messages = {
      {ChatRole::kUser, "We need a quest. Any quest.", std::nullopt},
      {ChatRole::kChar, "*slams the table* Then pick one that pays well, {{user}}!", std::nullopt},
      {ChatRole::kUser, "Fine. Frogs it is.", std::nullopt},
  };
  return c;
}

// The char speaks first (a card's greeting), no user persona.
inline ChatState greeting_chat() {
  ChatState c;
  c.char_name = "Mira";
  c.user_name = "Tom";
  c.char_persona = "A shy librarian.";
  c.scenario = "A quiet evening at the library.";
  c.length = LengthLevel::kShort;
  c.messages = {
      {ChatRole::kChar, "Oh! We're about to close...", std::nullopt},
      {ChatRole::kUser, "Just returning a book.", std::nullopt},
  };
  return c;
}

}  // namespace limarp::testing
