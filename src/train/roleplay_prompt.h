// LimaRP conversations as training text: rendered by the chat layer's own renderer
// (chat/limarp_prompt.h), so the model learns exactly the text it is prompted with at chat
// time, cut into segments that are trained on or not.
//
//   TrainingPrompt p = render_training_prompt(chat, rule, measure);
//
// Every response header gets " (length = LEVEL)" for its reply's length (`rule`: every
// reply, only the last, or none). What the loss sees (train_on_inputs: false) is what the
// model must write at chat time, where the prompt ends with "{char}:": the character's
// utterances — from the space after "{char}:" to the end of the reply — and how each turn
// ends: "\n\n### Input:" when the user speaks next (the chat stops on that header), the
// end-of-sequence token when the conversation ends with the reply. Without the turn ends a
// model learns to stop only once per conversation, and length control has nothing to hold on to.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/chat_state.h"
#include "train/length_label.h"

namespace limarp::train {

struct TrainingSegment {
  std::string text;
  bool trained = false;
  bool turn_end = false;  // closes a character's reply: the token holding its first byte is the stop
  bool reply = false;     // a character's reply (what its length label measures)
  // Byte offsets in `text` where the reply could have ended but goes on (train/dataset.h's
  // go-ons); filled by whoever wants length decisions, not by the renderer.
  std::vector<size_t> go_ons = {};
};

struct TrainingPrompt {
  std::vector<TrainingSegment> segments;
  bool ends_with_reply = false;   // the sample ends with a character reply (EOS follows)
  std::vector<LengthLevel> reply_levels;  // length level given to each labelled reply, in order
};

// `measure` gives a reply's length in the rule's unit (words, or tokens via the tokenizer).
using LengthMeasure = std::function<int64_t(std::string_view reply)>;
TrainingPrompt render_training_prompt(const ChatState& chat, const LengthLabelRule& rule, const LengthMeasure& measure);

}  // namespace limarp::train
