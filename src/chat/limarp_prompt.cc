#include "chat/limarp_prompt.h"

#include "base/text_util.h"
#include "chat/example_dialogue.h"
#include "chat/macros.h"

namespace limarp {
namespace {

constexpr std::string_view kInstructionHeader = "### Instruction:";
constexpr std::string_view kInputHeader = "### Input:";
constexpr std::string_view kResponseHeader = "### Response:";

// One turn before it becomes a segment.
struct Turn {
  SegmentKind kind;
  int message_index;
  ChatRole role;
  std::string text;
  LengthLevel length;
  bool tagged = false;  // the message carries its own level
};

}  // namespace

std::string effective_char_name(const ChatState& chat) {
  const auto n = trim_whitespace(chat.char_name);
  return std::string(n.empty() ? kDefaultCharName : n);
}

std::string effective_user_name(const ChatState& chat) {
  const auto n = trim_whitespace(chat.user_name);
  return std::string(n.empty() ? kDefaultUserName : n);
}

std::string render_limarp_story(const ChatState& chat) {
  const std::string cn = effective_char_name(chat), un = effective_user_name(chat);
  const MacroNames names{cn, un};
  std::string out;
  auto paragraph = [&](const std::string& p) {
    if (!out.empty()) out += "\n\n";
    out += p;
  };
  if (auto s = clean_field(substitute_macros(chat.char_persona, names)); !s.empty())
    paragraph(fmt::format("{}'s Persona: {}", cn, s));
  if (auto s = clean_field(substitute_macros(chat.user_persona, names)); !s.empty())
    paragraph(fmt::format("{}'s Persona: {}", un, s));
  if (auto s = clean_field(substitute_macros(chat.scenario, names)); !s.empty()) paragraph(fmt::format("Scenario: {}", s));
  paragraph(fmt::format(
      "Play the role of {0}. You must engage in a roleplaying chat with {1} below this line. Do not write dialogues "
      "and narration for {1}.",
      cn, un));
  return out;
}

RenderedPrompt render_limarp_prompt(const ChatState& chat, const PromptOptions& options) {
  const std::string cn = effective_char_name(chat), un = effective_user_name(chat);
  const MacroNames names{cn, un};

  std::vector<Turn> turns;
  if (options.examples == ExampleMode::kAsTurns && !trim_whitespace(chat.examples).empty())
    for (auto& m : parse_example_dialogue(chat.examples, names))
      turns.push_back({SegmentKind::kExample, -1, m.role, clean_field(m.text), chat.length});
  for (size_t i = 0; i < chat.messages.size(); ++i) {
    const auto& m = chat.messages[i];
    turns.push_back({SegmentKind::kMessage, static_cast<int>(i), m.role, clean_field(substitute_macros(m.text, names)),
                     m.length.value_or(chat.length), m.length.has_value()});
  }
  // Continuing only makes sense on the char's own message; otherwise open a new response.
  PromptTail tail = options.tail;
  const bool last_is_char_message =
      !turns.empty() && turns.back().kind == SegmentKind::kMessage && turns.back().role == ChatRole::kChar;
  if (tail == PromptTail::kContinueLast && !last_is_char_message) tail = PromptTail::kOpenResponse;
  const bool ends_with_turn = tail != PromptTail::kOpenResponse;

  RenderedPrompt p;
  std::string instruction = fmt::format("{}\n{}", kInstructionHeader, render_limarp_story(chat));
  if (!(ends_with_turn && turns.empty())) instruction += '\n';
  p.segments.push_back({SegmentKind::kInstruction, std::move(instruction), -1});

  for (size_t t = 0; t < turns.size(); ++t) {
    const Turn& turn = turns[t];
    const bool last = t + 1 == turns.size();
    std::string header;
    if (turn.role == ChatRole::kUser) {
      header = std::string(kInputHeader);
    } else {
      header = std::string(kResponseHeader);
      const bool open = last && tail == PromptTail::kContinueLast;
      if (options.modifier == ModifierPlacement::kEvery || (options.modifier == ModifierPlacement::kTagged && turn.tagged))
        header += length_modifier(turn.length);
      else if (options.modifier == ModifierPlacement::kLast && open) header += length_modifier(chat.length);
    }
    const std::string& name = turn.role == ChatRole::kUser ? un : cn;
    std::string text = fmt::format("\n{}\n{}:", header, name);
    if (!turn.text.empty()) text += " " + turn.text;
    if (!(last && ends_with_turn)) text += '\n';
    p.segments.push_back({turn.kind, std::move(text), turn.message_index});
  }

  if (tail == PromptTail::kOpenResponse) {
    std::string header(kResponseHeader);
    if (options.modifier != ModifierPlacement::kNone) header += length_modifier(chat.length);
    p.segments.push_back({SegmentKind::kOpenHeader, fmt::format("\n{}\n{}:", header, cn), -1});
  }
  return p;
}

}  // namespace limarp
