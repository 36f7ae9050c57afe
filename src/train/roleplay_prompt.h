// LimaRP's prompt format (extended Alpaca, multi-turn; ../shared/reference/limarp-format.md)
// rendered for training: a conversation becomes text segments, each marked as trained on or
// not. This is the training side's own small interface; the chat layer renders the same
// format for inference.
//
//   ### Instruction:
//   {char}'s Persona: {persona}
//
//   {user}'s Persona: {persona}
//
//   Scenario: {scenario}
//
//   Play the role of {char}. You must engage in a roleplaying chat with {user} below this line.
//   Do not write dialogues and narration for {user}.            (one line in the prompt)
//
//   ### Input:
//   {user}: {utterance}
//
//   ### Response: (length = medium)
//   {char}: {utterance}
//
// What the loss sees (train_on_inputs: false): only the character's utterances — from the
// space after "{char}:" to the end of the reply — and, when the conversation ends with a
// character reply, the end-of-sequence token after it. At inference the prompt ends with
// "{char}:", so exactly the trained part is what the model generates. Empty persona or
// scenario paragraphs are left out.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "train/length_label.h"

namespace limarp::train {

struct RoleplayMessage {
  bool from_character = false;  // LimaRP's <FIRST> (the bot side)
  std::string text;
};

struct RoleplayConversation {
  std::string char_name, user_name;
  std::string char_persona, user_persona, scenario;
  std::vector<RoleplayMessage> messages;
};

struct PromptSegment {
  std::string text;
  bool trained = false;
};

struct RenderedPrompt {
  std::vector<PromptSegment> segments;
  bool ends_with_reply = false;  // the sample ends with a character reply (EOS follows)
  std::vector<int> reply_levels;  // length level given to each labelled reply, in order
};

// `measure` gives a reply's length in the rule's unit (words, or tokens via the tokenizer).
using LengthMeasure = std::function<int64_t(std::string_view reply)>;
RenderedPrompt render_roleplay(const RoleplayConversation& c, const LengthLabelRule& rule, const LengthMeasure& measure);

}  // namespace limarp::train
