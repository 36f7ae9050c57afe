#include "train/length_label.h"

namespace limarp::train {

LengthLevel LengthLabelRule::level_for(int64_t length) const {
  for (size_t i = 0; i < upper_bounds.size(); ++i)
    if (length <= upper_bounds[i]) return kAllLengthLevels[i];
  return LengthLevel::kUnlimited;
}

}  // namespace limarp::train
