#include "sampling/sampler.h"

#include <limits>


namespace limarp {

int32_t draw_from(Candidates& c, Rng& rng) {
  c.softmax();
  const double u = rng.uniform();
  double cum = 0;
  for (const auto& x : c.items()) {
    cum += x.p;
    if (u < cum) return x.id;
  }
  // Rounding: the remaining mass belongs to the last token with any mass.
  for (size_t i = c.size(); i-- > 0;)
    if (c[i].p > 0) return c[i].id;
  return c.items().back().id;
}

int32_t SamplerChain::sample(std::span<const float> logits, SamplerContext& ctx) {
  work_.reset(logits);
  for (int32_t id : ctx.banned_now)
    if (id >= 0 && static_cast<size_t>(id) < work_.size()) work_[static_cast<size_t>(id)].logit = -std::numeric_limits<float>::infinity();
  for (auto& s : samplers_) s->apply(work_, ctx);
  int32_t chosen;
  if (greedy_ || !ctx.rng) {
    // Argmax, lowest id on ties.
    const Candidate* best = &work_.items()[0];
    for (const auto& x : work_.items())
      if (x.logit > best->logit || (x.logit == best->logit && x.id < best->id)) best = &x;
    chosen = best->id;
  } else {
    chosen = draw_from(work_, *ctx.rng);
  }
  for (auto& s : samplers_) s->accept(chosen);
  return chosen;
}

std::string SamplerChain::describe() const {
  std::string out;
  for (const auto& s : samplers_) {
    out += s->name();
    out += " -> ";
  }
  out += greedy_ ? "greedy" : "draw";
  return out;
}

}  // namespace limarp
