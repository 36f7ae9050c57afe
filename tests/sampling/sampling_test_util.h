// Helpers for the sampler tests: candidates from hand-written probabilities, and the ids or
// probabilities a sampler leaves behind. Expected values in the tests are written out or
// computed with plain double arithmetic, never by calling the code under test.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "sampling/candidates.h"
#include "sampling/sampler.h"

namespace limarp::testing {

inline constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Logits ln(p): softmax gives back p (up to rounding).
inline std::vector<float> logits_of(const std::vector<double>& p) {
  std::vector<float> l;
  for (double x : p) l.push_back(x > 0 ? static_cast<float>(std::log(x)) : kNegInf);
  return l;
}

// p = 0.5, 0.25, 0.125, 0.0625, 0.0625 (ids 0..4): each token half as likely as the one before,
// so thresholds fall between tokens by hand. Most sampler tests start from it.
inline const std::vector<float> kHalvingLogits = logits_of({0.5, 0.25, 0.125, 0.0625, 0.0625});

inline Candidates candidates_of(const std::vector<float>& logits) {
  Candidates c;
  c.reset(logits);
  return c;
}

// The ids left, in the list's current order.
inline std::vector<int32_t> ids(const Candidates& c) {
  std::vector<int32_t> out;
  for (const auto& x : c.items()) out.push_back(x.id);
  return out;
}

// The ids left, sorted by id (for set comparisons).
inline std::vector<int32_t> id_set(const Candidates& c) {
  auto v = ids(c);
  std::sort(v.begin(), v.end());
  return v;
}

inline float logit_of(const Candidates& c, int32_t id) {
  for (const auto& x : c.items())
    if (x.id == id) return x.logit;
  return std::numeric_limits<float>::quiet_NaN();
}

// Runs one sampler on logits with an optional history.
inline Candidates run(Sampler& s, const std::vector<float>& logits, std::span<const int32_t> history = {},
                      Rng* rng = nullptr) {
  Candidates c = candidates_of(logits);
  SamplerContext ctx{history, rng};
  s.apply(c, ctx);
  return c;
}

}  // namespace limarp::testing
