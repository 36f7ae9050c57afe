// Extra training conversations, derived from a LimaRP conversation, that teach a model to
// follow the (length = LEVEL) label rather than to guess a reply's length from where it stands
// in a scene. Hand-written scenes open with short replies and build up to one long reply, so
// without help a small model learns "the first reply is short" and ignores the label at the
// start of a chat — exactly where users ask for a long one.
//
//   openings          the conversation again from each later user turn on (earlier exchanges
//                     dropped), so long replies also open conversations
//   truncated_copies  N copies of the conversation (and of each opening) in which every reply
//                     that can be is cut at a sentence end to a shorter level, relabelled: the
//                     same context with a smaller label and an earlier stop
//
//   std::vector<ChatState> extra = length_variants(chat, {.openings = true, .truncated_copies = 1},
//                                                   rule, measure, rng);
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/rng.h"
#include "chat/chat_state.h"
#include "train/length_label.h"
#include "train/roleplay_prompt.h"

namespace limarp::train {

struct LengthAugmentation {
  bool openings = false;
  int64_t truncated_copies = 0;

  bool any() const { return openings || truncated_copies > 0; }
};

// Where a reply can end and still read as finished: after a sentence's closing mark (. ! ?,
// possibly followed by closing quotes or asterisks) that is followed by whitespace, with
// double quotes and asterisks balanced before it. Byte offsets, increasing; the text's own end
// is not included.
std::vector<size_t> sentence_cuts(std::string_view reply);

// The derived conversations, not including `chat` itself; deterministic for a given `rng` state.
std::vector<ChatState> length_variants(const ChatState& chat, const LengthAugmentation& how,
                                       const LengthLabelRule& rule, const LengthMeasure& measure, Rng& rng);

}  // namespace limarp::train
