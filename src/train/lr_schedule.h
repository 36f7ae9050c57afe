// Learning-rate schedules with linear warmup, with Hugging Face's formulas (what Axolotl's
// lr_scheduler selects): the factor for optimizer step `step` (0 for the first update) is
//   warmup:    step / warmup_steps                       while step < warmup_steps
//   constant:  1
//   linear:    (total - step) / (total - warmup)          down to 0 at the last step
//   cosine:    0.5 · (1 + cos(pi · progress)), progress = (step - warmup) / (total - warmup)
// so with warmup the very first update has learning rate 0, exactly as in Transformers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace limarp::train {

enum class LrScheduler { kConstant, kLinear, kCosine };

std::optional<LrScheduler> lr_scheduler_from_name(std::string_view name);

struct LrSchedule {
  LrScheduler kind = LrScheduler::kConstant;
  double base_lr = 2e-4;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;

  double at(int64_t step) const;
};

}  // namespace limarp::train
