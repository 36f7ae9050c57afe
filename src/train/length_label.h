// The `(length = LEVEL)` label LimaRP puts on a response header, chosen for training data by
// a rule on the reply's length. LimaRP's author never published the thresholds used to label
// the original data, so limarp defines its own (documented in docs/training.md) and makes
// them configurable per dataset:
//
//   level      words (default)      level      words (default)
//   tiny       1 – 20               huge       176 – 275
//   short      21 – 50              humongous  276 – 400
//   medium     51 – 100             extreme    401 – 600
//   long       101 – 175            unlimited  601 and more
//
// Lengths are counted in whitespace-separated words of the reply text (or in tokens of the
// model's tokenizer, without BOS), after names are substituted.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace limarp::train {

inline constexpr int kLengthLevels = 8;
inline constexpr const char* kLengthLevelNames[kLengthLevels] = {"tiny", "short",     "medium",  "long",
                                                                 "huge", "humongous", "extreme", "unlimited"};

enum class LengthUnit { kWords, kTokens };
// Which response headers carry a label: every reply (what length control trains), only the
// last reply of a sample, or none (the original, unlabelled format).
enum class LengthLabels { kEveryReply, kLastReply, kNone };

struct LengthLabelRule {
  LengthUnit unit = LengthUnit::kWords;
  // Inclusive upper bound of tiny .. extreme; anything longer is "unlimited". Increasing.
  std::array<int64_t, kLengthLevels - 1> upper_bounds = {20, 50, 100, 175, 275, 400, 600};
  LengthLabels placement = LengthLabels::kEveryReply;

  // 0 (tiny) .. 7 (unlimited).
  int level_for(int64_t length) const;
};

int64_t count_words(std::string_view text);
std::optional<int> length_level_from_name(std::string_view name);

}  // namespace limarp::train
