#include "sampling/candidates.h"

#include <algorithm>
#include <cmath>

namespace limarp {

void Candidates::reset(std::span<const float> logits) {
  items_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) items_[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
  sorted_ = false;
}

void Candidates::sort_desc() {
  if (sorted_) return;
  std::stable_sort(items_.begin(), items_.end(), [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit;
  });
  sorted_ = true;
}

void Candidates::softmax() {
  sort_desc();
  if (items_.empty()) return;
  const float mx = items_[0].logit;
  double sum = 0;
  for (auto& c : items_) {
    c.p = std::isinf(c.logit) && c.logit < 0 ? 0.0f : std::exp(c.logit - mx);
    sum += c.p;
  }
  for (auto& c : items_) c.p = static_cast<float>(c.p / sum);
}

void Candidates::truncate(size_t n) {
  sort_desc();
  if (n < 1) n = 1;
  if (n < items_.size()) items_.resize(n);
}

}  // namespace limarp
