#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>

namespace limarp {
namespace {

class Temperature final : public Sampler {
 public:
  explicit Temperature(float t) : t_(t) {}
  const char* name() const override { return "temperature"; }
  void apply(Candidates& c, SamplerContext&) override {
    if (t_ <= 0) return;
    for (auto& x : c.items()) x.logit /= t_;
  }

 private:
  float t_;
};

class TopK final : public Sampler {
 public:
  explicit TopK(int k) : k_(k) {}
  const char* name() const override { return "top_k"; }
  void apply(Candidates& c, SamplerContext&) override {
    if (k_ <= 0 || static_cast<size_t>(k_) >= c.size()) return;
    auto& v = c.items();
    // Partial sort is enough: only the top k survive, in order.
    std::partial_sort(v.begin(), v.begin() + k_, v.end(), [](const Candidate& a, const Candidate& b) {
      return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
    });
    v.resize(static_cast<size_t>(k_));
    c.mark_unsorted();
    c.sort_desc();
  }

 private:
  int k_;
};

class TopP final : public Sampler {
 public:
  explicit TopP(float p) : p_(p) {}
  const char* name() const override { return "top_p"; }
  void apply(Candidates& c, SamplerContext&) override {
    if (p_ >= 1.0f) return;
    c.softmax();
    double cum = 0;
    size_t keep = c.size();
    for (size_t i = 0; i < c.size(); ++i) {
      cum += c[i].p;
      if (cum >= p_) {
        keep = i + 1;
        break;
      }
    }
    c.truncate(keep);
  }

 private:
  float p_;
};

}  // namespace

std::unique_ptr<Sampler> make_temperature(float t) { return std::make_unique<Temperature>(t); }
std::unique_ptr<Sampler> make_top_k(int k) { return std::make_unique<TopK>(k); }
std::unique_ptr<Sampler> make_top_p(float p) { return std::make_unique<TopP>(p); }

int32_t draw_from(Candidates& c, Rng& rng) {
  c.softmax();
  const double u = rng.uniform();
  double cum = 0;
  for (const auto& x : c.items()) {
    cum += x.p;
    if (u < cum) return x.id;
  }
  return c.items().back().id;  // rounding: the remaining mass belongs to the last
}

int32_t SamplerChain::sample(std::span<const float> logits, SamplerContext& ctx) {
  work_.reset(logits);
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

SamplerChain make_basic_chain(const BasicSamplerParams& p) {
  SamplerChain chain;
  if (p.temperature <= 0) {
    chain.set_greedy(true);
    return chain;
  }
  chain.add(make_top_k(p.top_k));
  chain.add(make_top_p(p.top_p));
  chain.add(make_temperature(p.temperature));
  return chain;
}

}  // namespace limarp
