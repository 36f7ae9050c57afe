// The `(length = LEVEL)` label LimaRP puts on a response header, chosen for training data by
// a rule on the reply's length. LimaRP's author never published the thresholds used to label
// the original data, so limarp defines its own (documented in docs/training.md) and makes
// them configurable per dataset. The defaults are the bands the project's roleplay fixtures
// were written to (data/roleplay/README.md); the card's pass-2 config sets wider ones for
// LimaRP's much longer replies:
//
//   level      words (default)      level      words (default)
//   tiny       1 – 12               huge       101 – 150
//   short      13 – 30              humongous  151 – 220
//   medium     31 – 60              extreme    221 – 300
//   long       61 – 100             unlimited  301 and more
//
// Lengths are counted in whitespace-separated words of the reply text (or in tokens of the
// model's tokenizer, without BOS), after names are substituted.
//
// The levels themselves are the chat layer's LengthLevel (chat/length_level.h): what training
// labels is exactly what a chat asks for.
#pragma once

#include <array>
#include <cstdint>

#include "chat/length_level.h"

namespace limarp::train {

enum class LengthUnit { kWords, kTokens };
// Which response headers carry a label: every reply (what length control trains), only the
// last reply of a sample, or none (the original, unlabelled format).
enum class LengthLabels { kEveryReply, kLastReply, kNone };

struct LengthLabelRule {
  LengthUnit unit = LengthUnit::kWords;
  // Inclusive upper bound of tiny .. extreme; anything longer is "unlimited". Increasing.
  std::array<int64_t, kLengthLevelCount - 1> upper_bounds = {12, 30, 60, 100, 150, 220, 300};
  LengthLabels placement = LengthLabels::kEveryReply;

  LengthLevel level_for(int64_t length) const;
};

}  // namespace limarp::train
