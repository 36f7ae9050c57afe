// Samplers are small objects applied in order to a Candidates set, ending in a pick:
// penalties → temperature → top-k → top-p → ... → draw. Each is testable on a hand-computed
// distribution. The chat layer builds chains from user settings; `generate` uses the basic
// chain (temperature, top-k, top-p; temperature 0 is greedy).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/rng.h"
#include "sampling/candidates.h"

namespace limarp {

// What samplers may look at besides the logits: the tokens so far (for penalties).
struct SamplerContext {
  std::span<const int32_t> history;
  Rng* rng = nullptr;
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual const char* name() const = 0;
  virtual void apply(Candidates& c, SamplerContext& ctx) = 0;
  // Called with the token finally chosen (stateful samplers such as mirostat learn from it).
  virtual void accept(int32_t /*token*/) {}
};

class SamplerChain {
 public:
  void add(std::unique_ptr<Sampler> s) { samplers_.push_back(std::move(s)); }
  // Runs every sampler, then draws from what is left (argmax when greedy).
  int32_t sample(std::span<const float> logits, SamplerContext& ctx);
  const std::vector<std::unique_ptr<Sampler>>& samplers() const { return samplers_; }
  // Draw only greedily (argmax) at the end instead of by probability.
  void set_greedy(bool greedy) { greedy_ = greedy; }

 private:
  std::vector<std::unique_ptr<Sampler>> samplers_;
  Candidates work_;
  bool greedy_ = false;
};

struct BasicSamplerParams {
  float temperature = 0.8f;  // 0 = greedy
  int top_k = 40;            // 0 = off
  float top_p = 0.95f;       // 1 = off
};
SamplerChain make_basic_chain(const BasicSamplerParams& params);

// Draws an index from candidates' probabilities (after softmax) with one uniform number.
int32_t draw_from(Candidates& c, Rng& rng);

// The individual basic samplers (exposed for tests and chains).
std::unique_ptr<Sampler> make_temperature(float t);
std::unique_ptr<Sampler> make_top_k(int k);
std::unique_ptr<Sampler> make_top_p(float p);

}  // namespace limarp
