// Truncation samplers: each keeps a head of the distribution and drops the tail. All keep at
// least one candidate, and each has an "off" value at which it does nothing.
//
//   chain.add(make_top_k(40));        // the 40 highest logits               (k <= 0: off)
//   chain.add(make_top_p(0.95f));     // smallest head with Σp >= p         (p >= 1: off)
//   chain.add(make_min_p(0.05f));     // p_i >= min_p · p_max               (min_p <= 0: off)
//   chain.add(make_typical(0.9f));    // locally typical sampling            (p >= 1: off)
//   chain.add(make_tail_free(0.95f)); // tail-free sampling (TFS)            (z >= 1: off)
//   chain.add(make_top_a(0.2f));      // p_i >= a · p_max²                   (a <= 0: off)
//
// Semantics follow llama.cpp / KoboldCpp (the backends LimaRP users run):
// - top-p keeps the first i+1 tokens (by probability) where the running sum first reaches p;
//   p <= 0 keeps only the most likely token.
// - typical: H = -Σ p ln p; tokens ordered by |−ln p_i − H| (closest to the entropy first),
//   kept until the running sum of their probabilities exceeds p.
// - tail-free: on the sorted probabilities, d2_i = |(p_i − p_{i+1}) − (p_{i+1} − p_{i+2})|,
//   normalised to sum 1; the first i with Σ_{j<=i} d2_j > z (i >= 1) gives the number of
//   tokens kept, i. Fewer than 3 candidates: nothing to do.
// - top-a: threshold a · p_max², tokens below it dropped.
#pragma once

#include <memory>

#include "sampling/sampler.h"

namespace limarp {

std::unique_ptr<Sampler> make_top_k(int k);
std::unique_ptr<Sampler> make_top_p(float p);
std::unique_ptr<Sampler> make_min_p(float min_p);
std::unique_ptr<Sampler> make_typical(float p);
std::unique_ptr<Sampler> make_tail_free(float z);
std::unique_ptr<Sampler> make_top_a(float a);

}  // namespace limarp
