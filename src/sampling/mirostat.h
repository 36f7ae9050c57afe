// Mirostat v1 and v2: adaptive truncation that steers the surprise (−log2 p of the drawn
// token) toward a target tau. A running threshold mu starts at 2·tau; after every token,
// mu −= eta · (surprise − tau). Stateful: the chain calls accept(token) after the draw.
//
//   auto m = std::make_unique<MirostatSampler>(MirostatParams{.version = 2, .tau = 5, .eta = 0.1f});
//   chain.add(std::move(m));   // last before the draw: it decides the final candidate set
//
// v2: keep the head of the sorted distribution whose surprise is <= mu (at least one), then
//     renormalise.
// v1: estimate the Zipf exponent s from the m = 100 most likely tokens,
//     s = Σ t_i b_i / Σ t_i², t_i = ln((i+2)/(i+1)), b_i = ln(p_i / p_{i+1}),
//     then keep the top k = ((ε · 2^mu) / (1 − N^−ε))^(1/s) tokens, ε = s − 1, N = the
//     number of candidates the sampler was given (the vocabulary when it runs first).
// The surprise of the drawn token is measured on the renormalised kept set, as llama.cpp does.
// Mirostat replaces the other truncation samplers (KoboldCpp runs only the penalties and
// temperature before it); build_chain does that.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sampling/sampler.h"

namespace limarp {

struct MirostatParams {
  int version = 2;      // 1 or 2
  float tau = 5.0f;     // target surprise, bits
  float eta = 0.1f;     // learning rate
  int m = 100;          // v1: tokens used to estimate s
};

class MirostatSampler final : public Sampler {
 public:
  explicit MirostatSampler(const MirostatParams& params);
  const char* name() const override { return params_.version == 1 ? "mirostat_v1" : "mirostat_v2"; }
  void apply(Candidates& c, SamplerContext& ctx) override;
  void accept(int32_t token) override;

  float mu() const { return mu_; }
  void reset() { mu_ = 2.0f * params_.tau; }

 private:
  MirostatParams params_;
  float mu_;
  std::vector<Candidate> kept_;  // the renormalised set of the last apply()
};

std::unique_ptr<Sampler> make_mirostat(const MirostatParams& params);

}  // namespace limarp
