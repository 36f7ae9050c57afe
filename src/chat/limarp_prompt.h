// The LimaRP prompt, rendered directly: the extended Alpaca format of the model card.
//
//   ### Instruction:
//   {char}'s Persona: {char persona}
//
//   {user}'s Persona: {user persona}
//
//   Scenario: {scenario}
//
//   Play the role of {char}. You must engage in a roleplaying chat with {user} below this line. Do not write dialogues and narration for {user}.
//
//   ### Input:
//   {user}: {utterance}
//
//   ### Response:
//   {char}: {utterance}
//
//   ### Response: (length = medium)
//   {char}:
//
//   RenderedPrompt p = render_limarp_prompt(chat, {.modifier = ModifierPlacement::kLast});
//
// Whitespace, exactly: blocks are separated by one blank line ("\n\n"); a header and its first
// line by one "\n"; no trailing newline or space anywhere. The prompt ends with "{char}:" and no
// space: the model's first token brings the space (Llama-2's "▁word" pieces start with it).
// Ending in "{char}: " would instead make the space a token of its own (29871) that the model
// never saw there in training.
// Empty (or whitespace-only) persona and scenario fields are left out with their blank line;
// the play-the-role line is always there. Empty names become "Character" / "User". Fields and
// messages are trimmed and CRLF becomes LF; {{char}}/{{user}} macros are substituted.
// Segments: the instruction block ends with "\n"; every message segment starts with its
// header line ("\n### Input:" / "\n### Response:") and ends with "\n"; the last segment ends
// without one. This is the same text the "LimaRP-Alpaca" instruct preset gives through the
// generic renderer (instruct_render.h), segment for segment.
#pragma once

#include <string>

#include "chat/chat_state.h"
#include "chat/rendered_prompt.h"

namespace limarp {

RenderedPrompt render_limarp_prompt(const ChatState& chat, const PromptOptions& options = {});

// The instruction body without its "### Instruction:" line: the persona, user persona and
// scenario paragraphs (those that are not empty) and the play-the-role line, separated by
// blank lines. Both renderers use it (SillyTavern calls it the story string).
std::string render_limarp_story(const ChatState& chat);

// The names the prompt uses: trimmed, and the defaults when empty.
std::string effective_char_name(const ChatState& chat);
std::string effective_user_name(const ChatState& chat);

}  // namespace limarp
