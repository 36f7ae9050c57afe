#include "train/length_label.h"

namespace limarp::train {

int LengthLabelRule::level_for(int64_t length) const {
  for (int i = 0; i < kLengthLevels - 1; ++i)
    if (length <= upper_bounds[static_cast<size_t>(i)]) return i;
  return kLengthLevels - 1;
}

std::optional<int> length_level_from_name(std::string_view name) {
  for (int i = 0; i < kLengthLevels; ++i)
    if (name == kLengthLevelNames[i]) return i;
  return std::nullopt;
}

}  // namespace limarp::train
