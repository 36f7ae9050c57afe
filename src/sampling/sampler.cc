#include "sampling/sampler.h"

#include <algorithm>
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

namespace {

// Keeps the draft with probability min(1, p(d)/q(d)); else draws from the residual
// max(0, p - q). Candidates are softmaxed (p valid); tokens outside them have p = 0.
int32_t accept_or_resample(Candidates& c, const DraftProposal& draft, Rng& rng) {
  c.softmax();
  const auto q_of = [&draft](int32_t id) -> double {
    if (draft.q.empty()) return id == draft.token ? 1.0 : 0.0;
    return id >= 0 && static_cast<size_t>(id) < draft.q.size() ? draft.q[static_cast<size_t>(id)] : 0.0;
  };
  double p_draft = 0;
  for (const auto& x : c.items())
    if (x.id == draft.token) p_draft = x.p;
  const double q_draft = q_of(draft.token);
  const double u = rng.uniform();
  if (q_draft > 0 && u * q_draft < p_draft) return draft.token;
  double total = 0;
  for (const auto& x : c.items()) total += std::max(0.0, x.p - q_of(x.id));
  // p == q up to rounding: the draft was accepted with probability ~1, and the residual is
  // empty; p itself is the only distribution left to draw from.
  if (!(total > 0)) return draw_from(c, rng);
  const double v = rng.uniform() * total;
  double cum = 0;
  int32_t last = c.items().front().id;
  for (const auto& x : c.items()) {
    const double r = std::max(0.0, x.p - q_of(x.id));
    if (r <= 0) continue;
    last = x.id;
    cum += r;
    if (v < cum) return x.id;
  }
  return last;
}

}  // namespace

int32_t SamplerChain::sample(std::span<const float> logits, SamplerContext& ctx) {
  return sample(logits, ctx, DraftProposal{});
}

int32_t SamplerChain::sample(std::span<const float> logits, SamplerContext& ctx, const DraftProposal& draft) {
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
  } else if (draft.token >= 0) {
    chosen = accept_or_resample(work_, draft, *ctx.rng);
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
