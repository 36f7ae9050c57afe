// The turns a prompt renderer lays out, collected once for both renderers (the LimaRP format,
// limarp_prompt.h, and instruct presets, instruct_render.h): the card's example dialogue as
// turns, then every message with macros substituted and its length level resolved, plus how
// the prompt really ends (continuing is only possible on the char's own last message).
//
//   PromptTurns t = collect_prompt_turns(chat, names, options, options.examples);
//   for (const PromptTurn& turn : t.turns) ...   // one segment each
//   if (t.tail == PromptTail::kOpenResponse) ...  // the open header
#pragma once

#include <string>
#include <vector>

#include "chat/chat_state.h"
#include "chat/macros.h"
#include "chat/rendered_prompt.h"

namespace limarp {

struct PromptTurn {
  SegmentKind kind;   // kExample or kMessage
  int message_index;  // into ChatState::messages; -1 for examples
  ChatRole role;
  std::string text;   // cleaned, macros substituted
  LengthLevel length;
  bool tagged = false;  // the message carries its own level
};

struct PromptTurns {
  std::vector<PromptTurn> turns;
  PromptTail tail;      // options.tail, or kOpenResponse where there is nothing to continue
  bool ends_with_turn;  // the last turn is the end of the prompt (no open header follows)
};

// `examples` is the renderer's own choice (a preset may skip the example dialogue).
PromptTurns collect_prompt_turns(const ChatState& chat, const MacroNames& names, const PromptOptions& options,
                                 ExampleMode examples);

}  // namespace limarp
