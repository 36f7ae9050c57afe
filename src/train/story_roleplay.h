// Plain stories turned into narrated roleplay conversations that teach the (length = LEVEL)
// label: a narrator character tells a listener the stories of a text, a few consecutive
// sentences per reply, each reply as long as a level chosen for it. Hand-written roleplay data
// has few replies per level (and almost none at the long levels); a 15 MiB story file gives
// thousands at every level, so a small model can learn that the label decides the length.
//
//   conversation   a narrator and a listener (names, personas and scenario drawn from small
//                  built-in sets), then `replies_per_conversation` exchanges: a listener line
//                  ("What happened next?") and a reply of whole sentences
//   reply          consecutive sentences of the text, from where the last reply stopped, as
//                  long as a target drawn uniformly inside the aimed level's band; a story
//                  that ends inside the band ends the reply. Levels whose band starts above
//                  the median story's length (humongous .. unlimited on TinyStories) go on
//                  into the next story when one ends below the band; the others are only
//                  aimed where the rest of the current story can hold them.
//   level choice   random, weighted towards the levels furthest behind their requested share
//                  of the replies made so far, so the counts follow `weights` closely and a
//                  level's place in a conversation says little about it
//
// Replies are not labelled here: the dataset renders them like any LimaRP conversation
// (train/roleplay_prompt.h), which labels each reply by its measured length. A reply can
// miss its aimed level (a sentence too long for tiny, the text running out), and is then
// labelled with the level it has. Deterministic for a given `rng` state.
//
//   StoryConversations out = stories_to_conversations(stories, options, rule, measure, rng);
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/rng.h"
#include "chat/chat_state.h"
#include "train/length_label.h"
#include "train/roleplay_prompt.h"
#include "train/sentence_split.h"

namespace limarp::train {

struct StoryRoleplayOptions {
  std::vector<LengthLevel> levels = {kAllLengthLevels.begin(), kAllLengthLevels.end()};  // aimed at
  std::vector<double> weights;  // a share for each of `levels`; empty: equal shares
  int64_t replies_per_conversation = 4;
  int64_t max_conversations = 0;  // 0: as many as the text gives
  // The top of the open-ended last level (unlimited), in the rule's unit: unlimited replies
  // are drawn between the last threshold and this. 0: 1.5 times the last threshold (450 words
  // with the default bands).
  int64_t max_reply_length = 0;
};

// One story: its sentences, in order (views into text the caller keeps alive).
using Story = std::vector<Sentence>;

struct StoryConversations {
  std::vector<ChatState> conversations;  // every reply's `length` set to its measured level
  std::array<int64_t, kLengthLevelCount> replies_per_level{};
  int64_t stories_used = 0;  // stories of which at least one sentence was told
  int64_t missed = 0;        // replies whose measured level is not the one aimed at
};

StoryConversations stories_to_conversations(const std::vector<Story>& stories, const StoryRoleplayOptions& options,
                                            const LengthLabelRule& rule, const LengthMeasure& measure, Rng& rng);

}  // namespace limarp::train
