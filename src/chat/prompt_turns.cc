#include "chat/prompt_turns.h"

#include "base/text_util.h"
#include "chat/example_dialogue.h"

namespace limarp {

PromptTurns collect_prompt_turns(const ChatState& chat, const MacroNames& names, const PromptOptions& options,
                                 ExampleMode examples) {
  PromptTurns t;
  if (examples == ExampleMode::kAsTurns && !trim_whitespace(chat.examples).empty())
    for (auto& m : parse_example_dialogue(chat.examples, names))
      t.turns.push_back({SegmentKind::kExample, -1, m.role, clean_field(m.text), chat.length});
  for (size_t i = 0; i < chat.messages.size(); ++i) {
    const auto& m = chat.messages[i];
    t.turns.push_back({SegmentKind::kMessage, static_cast<int>(i), m.role,
                       clean_field(substitute_macros(m.text, names)), m.length.value_or(chat.length),
                       m.length.has_value()});
  }
  // Continuing only makes sense on the char's own message; otherwise open a new response.
  t.tail = options.tail;
  const bool last_is_char_message =
      !t.turns.empty() && t.turns.back().kind == SegmentKind::kMessage && t.turns.back().role == ChatRole::kChar;
  if (t.tail == PromptTail::kContinueLast && !last_is_char_message) t.tail = PromptTail::kOpenResponse;
  t.ends_with_turn = t.tail != PromptTail::kOpenResponse;
  return t;
}

}  // namespace limarp
