#include "sampling/mirostat.h"

#include <algorithm>
#include <cmath>

namespace limarp {

MirostatSampler::MirostatSampler(const MirostatParams& params) : params_(params), mu_(2.0f * params.tau) {}

void MirostatSampler::apply(Candidates& c, SamplerContext&) {
  kept_.clear();
  if (c.empty()) return;
  c.softmax();
  size_t keep = 1;
  if (params_.version == 1) {
    const size_t n_vocab = c.size();
    // Zipf exponent from successive probability ratios of the head; stop at a zero.
    double sum_tb = 0, sum_tt = 0;
    const size_t m = static_cast<size_t>(std::max(2, params_.m));
    for (size_t i = 0; i + 1 < m && i + 1 < c.size(); ++i) {
      if (c[i + 1].p <= 0) break;
      const double t = std::log(static_cast<double>(i + 2) / static_cast<double>(i + 1));
      const double b = std::log(static_cast<double>(c[i].p) / c[i + 1].p);
      sum_tb += t * b;
      sum_tt += t * t;
    }
    if (sum_tt > 0) {
      const double s = sum_tb / sum_tt;
      const double eps = s - 1.0;
      const double k = std::pow((eps * std::pow(2.0, static_cast<double>(mu_))) /
                                    (1.0 - std::pow(static_cast<double>(n_vocab), -eps)),
                                1.0 / s);
      // s near 1 or 0 makes k 0/0 or inf: keep everything rather than guess.
      if (std::isfinite(k)) keep = static_cast<size_t>(std::clamp(k, 1.0, static_cast<double>(c.size())));
      else keep = c.size();
    }
  } else {
    while (keep < c.size() && c[keep].p > 0 && -std::log2(c[keep].p) <= mu_) ++keep;
  }
  c.truncate(keep);
  c.softmax();
  kept_ = c.items();
}

void MirostatSampler::accept(int32_t token) {
  for (const auto& x : kept_) {
    if (x.id != token) continue;
    const float surprise = x.p > 0 ? -std::log2(x.p) : 2.0f * params_.tau;
    mu_ -= params_.eta * (surprise - params_.tau);
    return;
  }
  // A token the sampler never saw (a forced or greedy pick): nothing to learn from.
}

std::unique_ptr<Sampler> make_mirostat(const MirostatParams& params) {
  return std::make_unique<MirostatSampler>(params);
}

}  // namespace limarp
