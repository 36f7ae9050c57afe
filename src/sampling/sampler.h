// Samplers are small objects applied in order to a Candidates set, ending in a pick:
// bias/bans → penalties → truncation → temperature → draw. Each is testable on a
// hand-computed distribution. Generation builds chains from settings with build_chain()
// (sampler_settings.h).
//
//   SamplerChain chain;  chain.add(make_top_k(40));  chain.add(make_temperature(0.8f));
//   Rng rng(seed);
//   SamplerContext ctx{history, &rng};
//   int32_t id = chain.sample(logits, ctx);   // every sampler's accept(id) is called too
//
// The families live one per file: temperature.h, truncation.h (top-k, top-p, min-p, typical,
// tail-free, top-a), penalties.h, dry.h, xtc.h, mirostat.h, logit_bias.h.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/rng.h"
#include "sampling/candidates.h"

namespace limarp {

// What samplers may look at besides the logits.
struct SamplerContext {
  std::span<const int32_t> history;  // every token so far, prompt included (for penalties)
  Rng* rng = nullptr;                // null: no randomness (greedy draw, XTC off)
  // Tokens banned for this one step only: the generation loop's banned-string rewind bans
  // the token that began a banned string at that position (banned_strings.h).
  std::span<const int32_t> banned_now = {};
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual const char* name() const = 0;
  virtual void apply(Candidates& c, SamplerContext& ctx) = 0;
  // Called with the token finally chosen (stateful samplers such as mirostat learn from it).
  virtual void accept(int32_t /*token*/) {}
};

enum class DrawMode { kRandom, kGreedy };

// A token proposed by speculative decoding for the position being sampled, with the
// distribution it was drawn from: `q` over the whole vocabulary for a draft model's sample,
// empty when the proposal was deterministic (prompt lookup; q is then one-hot on `token`).
struct DraftProposal {
  int32_t token = -1;
  std::span<const float> q;
};

class SamplerChain {
 public:
  void add(std::unique_ptr<Sampler> s) { samplers_.push_back(std::move(s)); }
  // Bans ctx.banned_now, runs every sampler, then draws from what is left (argmax, lowest id
  // on ties, when greedy or when ctx.rng is null), then calls every sampler's accept().
  int32_t sample(std::span<const float> logits, SamplerContext& ctx);
  // The same draw for a position where speculative decoding proposed `draft`: the chain runs
  // as always, giving the target distribution p; the draft is kept with probability
  // min(1, p(d)/q(d)), else the token is drawn from max(0, p - q) renormalized. Whatever q is,
  // the token returned is distributed exactly as p (Leviathan et al. 2023, Chen et al. 2023).
  // Greedy chains ignore the draft: argmax is what the caller compares it with.
  int32_t sample(std::span<const float> logits, SamplerContext& ctx, const DraftProposal& draft);
  const std::vector<std::unique_ptr<Sampler>>& samplers() const { return samplers_; }
  void set_draw_mode(DrawMode mode) { greedy_ = mode == DrawMode::kGreedy; }
  bool greedy() const { return greedy_; }
  // "logit_bias -> rep_pen -> top_k -> temperature -> draw", for logs.
  std::string describe() const;
  // The candidates as the last sample() left them before the draw (for tests and debugging).
  const Candidates& last_candidates() const { return work_; }

 private:
  std::vector<std::unique_ptr<Sampler>> samplers_;
  Candidates work_;
  bool greedy_ = false;
};

// Draws an index from candidates' probabilities (after softmax) with one uniform number.
int32_t draw_from(Candidates& c, Rng& rng);

}  // namespace limarp
