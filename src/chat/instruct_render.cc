#include "chat/instruct_render.h"

#include <algorithm>

#include "base/text_util.h"
#include "chat/limarp_prompt.h"
#include "chat/macros.h"
#include "chat/prompt_turns.h"

namespace limarp {
namespace {

constexpr std::string_view kModifierOpen = "(length = ";

// Replaces {{name}} (any case) with the speaker.
std::string substitute_name(std::string_view s, std::string_view name) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (starts_with_ignoring_case(s.substr(i), "{{name}}")) {
      out += name;
      i += 8;
    } else {
      out += s[i++];
    }
  }
  return out;
}

struct Ctx {
  const InstructPreset& preset;
  const PromptOptions& options;
  std::string char_name, user_name;
  std::string sep;

  std::string macro(std::string_view seq, std::string_view speaker) const {
    if (!preset.macro) return std::string(seq);
    return substitute_name(substitute_macros(seq, {char_name, user_name}), speaker);
  }
};

// [a, b] joined by sep, an empty a left out.
std::string join(std::string_view a, std::string_view b, std::string_view sep) {
  if (a.empty()) return std::string(b);
  return std::string(a) + std::string(sep) + std::string(b);
}

}  // namespace

bool has_length_modifier(std::string_view sequence) {
  const size_t at = sequence.find(kModifierOpen);
  return at != std::string_view::npos && sequence.find(')', at) != std::string_view::npos;
}

std::string set_length_modifier(std::string_view seq, const LengthLevel* level) {
  const size_t at = seq.find(kModifierOpen);
  if (at == std::string_view::npos) return std::string(seq);
  const size_t close = seq.find(')', at);
  if (close == std::string_view::npos) return std::string(seq);
  if (level) {
    return std::string(seq.substr(0, at + kModifierOpen.size())) + length_level_name(*level) +
           std::string(seq.substr(close));
  }
  const size_t start = at > 0 && seq[at - 1] == ' ' ? at - 1 : at;
  return std::string(seq.substr(0, start)) + std::string(seq.substr(close + 1));
}

RenderedPrompt render_with_preset(const ChatState& chat, const InstructPreset& preset, const PromptOptions& options) {
  Ctx c{preset, options, effective_char_name(chat), effective_user_name(chat), preset.wrap ? "\n" : ""};
  const MacroNames names{c.char_name, c.user_name};

  const PromptTurns collected = collect_prompt_turns(chat, names, options, preset.skip_examples ? ExampleMode::kOmit : options.examples);
  const std::vector<PromptTurn>& turns = collected.turns;
  const PromptTail tail = collected.tail;
  const bool ends_with_turn = collected.ends_with_turn;

  // Ends a non-final segment on a line break.
  auto close_line = [&](std::string s, bool last) {
    if (!last && preset.wrap && !s.ends_with('\n')) s += '\n';
    return s;
  };

  // The sequence carrying the length modifier for kEvery.
  const std::string* modifier_seq = nullptr;
  if (has_length_modifier(preset.last_output_sequence)) modifier_seq = &preset.last_output_sequence;
  else if (has_length_modifier(preset.output_sequence)) modifier_seq = &preset.output_sequence;

  auto char_header = [&](std::string_view base, bool open, LengthLevel level, bool tagged) {
    switch (options.modifier) {
      case ModifierPlacement::kNone: return set_length_modifier(base, nullptr);
      case ModifierPlacement::kLast: return set_length_modifier(base, open ? &chat.length : nullptr);
      case ModifierPlacement::kEvery:
        return modifier_seq ? set_length_modifier(*modifier_seq, &level) : std::string(base);
      case ModifierPlacement::kTagged:
        if (!tagged) return set_length_modifier(base, nullptr);
        return modifier_seq ? set_length_modifier(*modifier_seq, &level) : std::string(base);
    }
    return std::string(base);
  };

  RenderedPrompt p;
  {
    const bool old_style = !preset.system_sequence_prefix.empty() || !preset.system_sequence_suffix.empty();
    const std::string& prefix = old_style ? preset.system_sequence_prefix : preset.system_sequence;
    const std::string& suffix = old_style ? preset.system_sequence_suffix : preset.system_suffix;
    std::string block = join(c.macro(prefix, "System"), render_limarp_story(chat), c.sep);
    if (!suffix.empty()) block += (old_style ? c.sep : "") + c.macro(suffix, "System");
    p.segments.push_back({SegmentKind::kInstruction, close_line(std::move(block), ends_with_turn && turns.empty()), -1});
  }

  // The newest user message, for last_input_sequence.
  int newest_user = -1;
  for (const auto& t : turns)
    if (t.kind == SegmentKind::kMessage && t.role == ChatRole::kUser) newest_user = t.message_index;

  auto render_turn = [&](ChatRole role, const std::string& text, std::string_view prefix_seq, std::string_view suffix_seq,
                         bool last) {
    const std::string& name = role == ChatRole::kUser ? c.user_name : c.char_name;
    std::string body = text;
    if (preset.names_behavior == NamesBehavior::kAlways) body = text.empty() ? name + ":" : name + ": " + text;
    std::string suffix = c.macro(suffix_seq, name);
    std::string s = join(c.macro(prefix_seq, name), body + suffix, c.sep);
    return close_line(std::move(s), last);
  };

  for (size_t t = 0; t < turns.size(); ++t) {
    const PromptTurn& turn = turns[t];
    const bool last = t + 1 == turns.size() && ends_with_turn;
    const bool first_message = turn.kind == SegmentKind::kMessage && turn.message_index == 0;
    std::string text;
    if (first_message && turn.role == ChatRole::kChar && !preset.user_alignment_message.empty())
      text += render_turn(ChatRole::kUser, clean_field(c.macro(preset.user_alignment_message, c.user_name)),
                          preset.input_sequence, preset.input_suffix, false);
    if (turn.role == ChatRole::kUser) {
      std::string_view prefix = preset.input_sequence;
      if (first_message && !preset.first_input_sequence.empty()) prefix = preset.first_input_sequence;
      else if (turn.message_index == newest_user && turn.kind == SegmentKind::kMessage && !preset.last_input_sequence.empty())
        prefix = preset.last_input_sequence;
      text += render_turn(ChatRole::kUser, turn.text, prefix, preset.input_suffix, last);
    } else {
      const bool open = last && tail == PromptTail::kContinueLast;
      std::string_view base = preset.output_sequence;
      if (open && !preset.last_output_sequence.empty()) base = preset.last_output_sequence;
      else if (first_message && !preset.first_output_sequence.empty()) base = preset.first_output_sequence;
      text += render_turn(ChatRole::kChar, turn.text, char_header(base, open, turn.length, turn.tagged), preset.output_suffix, last);
    }
    p.segments.push_back({turn.kind, std::move(text), turn.message_index});
  }

  if (tail == PromptTail::kOpenResponse) {
    const std::string& base = preset.last_output_sequence.empty() ? preset.output_sequence : preset.last_output_sequence;
    std::string seq = c.macro(char_header(base, true, chat.length, true), c.char_name);
    std::string text = preset.names_behavior == NamesBehavior::kAlways ? join(seq, c.char_name + ":", c.sep) : seq + c.sep;
    p.segments.push_back({SegmentKind::kOpenHeader, std::move(text), -1});
  }
  return p;
}

std::vector<std::string> instruct_stop_strings(const InstructPreset& preset, const ChatState& chat) {
  const std::string cn = effective_char_name(chat), un = effective_user_name(chat);
  const MacroNames names{cn, un};
  auto m = [&](const std::string& s, std::string_view speaker) {
    return preset.macro ? substitute_name(substitute_macros(s, names), speaker) : s;
  };
  const std::string combined = m(preset.stop_sequence, cn) + "\n" + m(preset.input_sequence, un) + "\n" +
                               m(preset.output_sequence, cn) + "\n" + m(preset.first_output_sequence, cn) + "\n" +
                               m(preset.last_output_sequence, cn) + "\n" + m(preset.system_sequence, "System") + "\n" +
                               m(preset.last_system_sequence, "System");
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= combined.size()) {
    size_t end = combined.find('\n', pos);
    if (end == std::string::npos) end = combined.size();
    const std::string line = combined.substr(pos, end - pos);
    pos = end + 1;
    if (trim_whitespace(line).empty()) continue;
    std::string stop = (preset.wrap ? "\n" : "") + line;
    if (std::find(out.begin(), out.end(), stop) == out.end()) out.push_back(std::move(stop));
  }
  return out;
}

}  // namespace limarp
