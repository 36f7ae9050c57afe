#include "sampling/candidates.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace limarp {

void Candidates::reset(std::span<const float> logits) {
  items_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    const float l = std::isnan(logits[i]) ? -std::numeric_limits<float>::infinity() : logits[i];
    items_[i] = {static_cast<int32_t>(i), l, 0.0f};
  }
  sorted_ = false;
}

void Candidates::sort_desc() {
  if (sorted_) return;
  std::sort(items_.begin(), items_.end(), [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  });
  sorted_ = true;
}

void Candidates::softmax() {
  sort_desc();
  if (items_.empty()) return;
  const float mx = items_[0].logit;
  if (std::isinf(mx) && mx < 0) {
    const float u = 1.0f / static_cast<float>(items_.size());
    for (auto& c : items_) c.p = u;
    return;
  }
  if (std::isinf(mx)) {
    // A +inf logit (a bias of +inf) forces its token: the +inf tokens share all the mass.
    size_t n_inf = 0;
    for (const auto& c : items_) n_inf += (c.logit == mx);
    for (auto& c : items_) c.p = c.logit == mx ? 1.0f / static_cast<float>(n_inf) : 0.0f;
    return;
  }
  // Sum in double: 32000 small terms lose precision in float.
  double sum = 0;
  for (auto& c : items_) {
    c.p = (std::isinf(c.logit) && c.logit < 0) ? 0.0f : static_cast<float>(std::exp(static_cast<double>(c.logit) - mx));
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
