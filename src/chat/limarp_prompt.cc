#include "chat/limarp_prompt.h"

#include "base/text_util.h"
#include "chat/macros.h"
#include "chat/prompt_turns.h"

namespace limarp {
namespace {

constexpr std::string_view kInstructionHeader = "### Instruction:";
constexpr std::string_view kInputHeader = "### Input:";
constexpr std::string_view kResponseHeader = "### Response:";

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

  const PromptTurns collected = collect_prompt_turns(chat, names, options, options.examples);
  const std::vector<PromptTurn>& turns = collected.turns;
  const PromptTail tail = collected.tail;
  const bool ends_with_turn = collected.ends_with_turn;

  RenderedPrompt p;
  std::string instruction = fmt::format("{}\n{}", kInstructionHeader, render_limarp_story(chat));
  if (!(ends_with_turn && turns.empty())) instruction += '\n';
  p.segments.push_back({SegmentKind::kInstruction, std::move(instruction), -1});

  for (size_t t = 0; t < turns.size(); ++t) {
    const PromptTurn& turn = turns[t];
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
