#include "sampling/token_probs.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace limarp {

TokenProbs token_probs(const Candidates& c, int32_t chosen, size_t n_top) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  TokenProbs out;
  out.chosen = {chosen, -kInf};
  if (c.empty()) return out;
  double max = -kInf;
  size_t n_max = 0;
  for (const Candidate& x : c.items()) {
    if (x.logit > max) {
      max = x.logit;
      n_max = 0;
    }
    n_max += x.logit == max;
  }
  // log p(x) for each candidate, as Candidates::softmax() defines the degenerate cases: all
  // banned is uniform, +inf logits share the mass.
  double log_norm = 0;
  if (std::isinf(max)) {
    log_norm = max < 0 ? std::log(static_cast<double>(c.size())) : std::log(static_cast<double>(n_max));
  } else {
    double sum = 0;
    for (const Candidate& x : c.items()) sum += std::exp(static_cast<double>(x.logit) - max);
    log_norm = max + std::log(sum);
  }
  const auto logprob = [&](float logit) -> double {
    if (std::isinf(max)) {
      if (max < 0) return -log_norm;
      return logit == max ? -log_norm : -kInf;
    }
    return static_cast<double>(logit) - log_norm;
  };
  std::vector<const Candidate*> best;
  best.reserve(std::min(n_top, c.size()) + 1);
  const auto before = [](const Candidate* a, const Candidate* b) {
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
  };
  for (const Candidate& x : c.items()) {
    if (x.id == chosen) out.chosen.logprob = logprob(x.logit);
    if (n_top == 0 || std::isinf(logprob(x.logit))) continue;
    // A bounded, sorted list: the vocabulary is scanned once, at log(n_top) per kept token.
    if (best.size() == n_top && !before(&x, best.back())) continue;
    best.insert(std::upper_bound(best.begin(), best.end(), &x, before), &x);
    if (best.size() > n_top) best.pop_back();
  }
  for (const Candidate* x : best) out.top.push_back({x->id, logprob(x->logit)});
  return out;
}

}  // namespace limarp
