#include "sampling/temperature.h"

#include <algorithm>
#include <cmath>

namespace limarp {
namespace {

class Temperature final : public Sampler {
 public:
  explicit Temperature(float t) : t_(t) {}
  const char* name() const override { return "temperature"; }
  void apply(Candidates& c, SamplerContext&) override {
    if (t_ <= 0 || t_ == 1.0f) return;
    // Dividing by a positive number keeps the order, so a sorted list stays sorted.
    for (auto& x : c.items()) x.logit /= t_;
  }

 private:
  float t_;
};

class DynamicTemperature final : public Sampler {
 public:
  explicit DynamicTemperature(const DynamicTemperatureParams& p) : p_(p) {}
  const char* name() const override { return "dynatemp"; }
  void apply(Candidates& c, SamplerContext&) override {
    if (c.size() <= 1) return;
    c.softmax();
    const float t = dynamic_temperature_for(c, p_);
    for (auto& x : c.items()) x.logit /= t;
  }

 private:
  DynamicTemperatureParams p_;
};

}  // namespace

float dynamic_temperature_for(const Candidates& c, const DynamicTemperatureParams& p) {
  const float t_min = std::max(0.0f, p.temperature - p.range);
  const float t_max = std::max(0.0f, p.temperature + p.range);
  const float exponent = std::max(0.0f, p.exponent);
  if (c.size() <= 1) return std::max(kMinDynamicTemperature, p.temperature);
  double entropy = 0;
  for (const auto& x : c.items())
    if (x.p > 0) entropy -= static_cast<double>(x.p) * std::log(static_cast<double>(x.p));
  const double max_entropy = std::log(static_cast<double>(c.size()));
  const double normalized = std::clamp(entropy / max_entropy, 0.0, 1.0);
  const double t = t_min + (t_max - t_min) * std::pow(normalized, static_cast<double>(exponent));
  return std::max(kMinDynamicTemperature, static_cast<float>(t));
}

std::unique_ptr<Sampler> make_temperature(float t) { return std::make_unique<Temperature>(t); }
std::unique_ptr<Sampler> make_dynamic_temperature(const DynamicTemperatureParams& params) {
  return std::make_unique<DynamicTemperature>(params);
}

}  // namespace limarp
