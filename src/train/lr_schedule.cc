#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace limarp::train {

std::optional<LrScheduler> lr_scheduler_from_name(std::string_view name) {
  if (name == "constant" || name == "constant_with_warmup") return LrScheduler::kConstant;
  if (name == "linear") return LrScheduler::kLinear;
  if (name == "cosine") return LrScheduler::kCosine;
  return std::nullopt;
}

double LrSchedule::at(int64_t step) const {
  const auto s = static_cast<double>(step);
  const auto warmup = static_cast<double>(warmup_steps);
  if (step < warmup_steps) return base_lr * s / std::max(1.0, warmup);
  const double span = std::max(1.0, static_cast<double>(total_steps) - warmup);
  switch (kind) {
    case LrScheduler::kConstant: return base_lr;
    case LrScheduler::kLinear: return base_lr * std::max(0.0, (static_cast<double>(total_steps) - s) / span);
    case LrScheduler::kCosine:
      return base_lr * std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * (s - warmup) / span)));
  }
  return base_lr;
}

}  // namespace limarp::train
