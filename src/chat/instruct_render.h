// The generic instruct-format renderer: any SillyTavern instruct preset (instruct_preset.h)
// applied to a ChatState. With the built-in "LimaRP-Alpaca" preset it gives exactly the text
// of render_limarp_prompt (limarp_prompt.h), segment for segment; other Alpaca-like and
// ChatML-like presets work through the same rules.
//
//   LIMARP_ASSIGN_OR_RETURN(InstructPreset preset, load_instruct_preset("LimaRP-Alpaca"));
//   RenderedPrompt p = render_with_preset(chat, preset, {.modifier = ModifierPlacement::kLast});
//   std::vector<std::string> stops = instruct_stop_strings(preset, chat);
//
// The rules (sep = "\n" when the preset wraps, else ""):
// - System block: [system_sequence_prefix, story] joined by sep, then sep + system_sequence_suffix
//   when that is set. Newer presets leave the prefix empty; then system_sequence and
//   system_suffix wrap the story instead. The story is the LimaRP instruction body
//   (render_limarp_story): SillyTavern takes it from its context template, not the preset.
// - A turn: [prefix, body + suffix] joined by sep (an empty prefix is left out), where prefix is
//   input_sequence / output_sequence (first_input_sequence / first_output_sequence for the
//   chat's very first message, last_input_sequence for the newest user message), body is
//   "Name: text" when names_behavior is always (the text alone for force and none: a one-to-one
//   chat has no group to force names for), and suffix is input_suffix / output_suffix.
// - Every segment but the last ends on a line break: with wrap, a block whose suffix does not
//   end in "\n" gets one (SillyTavern puts "\n" in an empty suffix). The last segment does not.
// - The open header: last_output_sequence (else output_sequence), then sep and "Name:" with
//   names, or just sep without. Unlike SillyTavern we do not put another sep before it: the
//   previous segment already ended the line, and a second newline would leave a blank line the
//   model never saw in training.
// - user_alignment_message, when set and the chat starts with the char, is a user turn in
//   front of the first message (part of that message's segment).
// - With macro, sequences get {{char}}, {{user}} and {{name}} (the speaker) substituted.
// - Length: a sequence holding "(length = WORD)" is where the level goes. kLast: the open header
//   gets the chat's level, other headers lose the modifier; kEvery: every char header uses the
//   first of last_output_sequence / output_sequence that holds a modifier, with that message's
//   level; kNone: every modifier is removed with the space before it. A preset with no modifier
//   anywhere renders none (it is not a LimaRP format).
// - skip_examples: examples are left out (we have no raw-example channel).
#pragma once

#include <string>
#include <vector>

#include "chat/chat_state.h"
#include "chat/instruct_preset.h"
#include "chat/rendered_prompt.h"

namespace limarp {

RenderedPrompt render_with_preset(const ChatState& chat, const InstructPreset& preset, const PromptOptions& options = {});

// SillyTavern's stop strings for a preset: every line of stop_sequence, input_sequence,
// output_sequence, first_output_sequence, last_output_sequence, system_sequence and
// last_system_sequence that is not blank, with "\n" in front when the preset wraps, without
// duplicates; macros substituted ({{name}}: the user for input, the char for output, "System"
// for system sequences).
std::vector<std::string> instruct_stop_strings(const InstructPreset& preset, const ChatState& chat);

// Rewrites "(length = WORD)" in a sequence: to the level, or removed with the space before it
// when level is null. Sequences without a modifier come back unchanged.
std::string set_length_modifier(std::string_view sequence, const LengthLevel* level);
bool has_length_modifier(std::string_view sequence);

}  // namespace limarp
