// Static and dynamic (entropy-based, KoboldCpp-style) temperature.
#include <gtest/gtest.h>

#include "sampling/temperature.h"
#include "sampling_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

TEST(Temperature, DividesTheLogits) {
  auto s = make_temperature(0.5f);
  Candidates c = run(*s, {1.0f, -2.0f, 0.25f});
  EXPECT_FLOAT_EQ(logit_of(c, 0), 2.0f);
  EXPECT_FLOAT_EQ(logit_of(c, 1), -4.0f);
  EXPECT_FLOAT_EQ(logit_of(c, 2), 0.5f);
}

TEST(Temperature, ZeroLeavesTheLogitsForTheGreedyDraw) {
  auto s = make_temperature(0.0f);
  Candidates c = run(*s, {1.0f, 2.0f});
  EXPECT_FLOAT_EQ(logit_of(c, 0), 1.0f);
  EXPECT_FLOAT_EQ(logit_of(c, 1), 2.0f);
}

TEST(Temperature, SharpensAndFlattens) {
  // p ∝ exp(l / T): with l = ln(0.75), ln(0.25), T = 0.5 gives 0.9 / 0.1 (9:1).
  auto s = make_temperature(0.5f);
  Candidates c = run(*s, logits_of({0.75, 0.25}));
  c.softmax();
  EXPECT_NEAR(c[0].p, 0.9, 1e-6);
}

// Expected dynamic temperature computed here with plain doubles.
double expected_dynatemp(const std::vector<double>& p, double t, double range, double exponent) {
  double h = 0;
  for (double x : p)
    if (x > 0) h -= x * std::log(x);
  const double norm = h / std::log(static_cast<double>(p.size()));
  const double lo = std::max(0.0, t - range), hi = t + range;
  return lo + (hi - lo) * std::pow(norm, exponent);
}

TEST(DynamicTemperature, FollowsTheNormalisedEntropy) {
  const std::vector<double> p = {0.5, 0.25, 0.125, 0.0625, 0.0625};
  for (double exponent : {1.0, 2.0, 0.5}) {
    const double t = expected_dynatemp(p, 1.0, 0.5, exponent);
    // H / H_max = 1.875 ln2 / ln5 = 0.8075: T = 0.5 + 0.8075 for exponent 1.
    if (exponent == 1.0) {
      EXPECT_NEAR(t, 0.5 + 1.875 * std::log(2.0) / std::log(5.0), 1e-12);
    }
    auto s = make_dynamic_temperature({.temperature = 1.0f, .range = 0.5f, .exponent = static_cast<float>(exponent)});
    Candidates c = run(*s, logits_of(p));
    for (int id = 0; id < 5; ++id)
      EXPECT_NEAR(logit_of(c, id), std::log(p[static_cast<size_t>(id)]) / t, 1e-5) << "exponent " << exponent;
  }
}

TEST(DynamicTemperature, FlatGetsTheTopAndCertainGetsTheBottom) {
  DynamicTemperatureParams params{.temperature = 0.8f, .range = 0.3f, .exponent = 1.0f};
  Candidates flat = candidates_of({0.0f, 0.0f, 0.0f, 0.0f});
  flat.softmax();
  EXPECT_NEAR(dynamic_temperature_for(flat, params), 1.1, 1e-6);
  Candidates certain = candidates_of({0.0f, kNegInf, kNegInf, kNegInf});
  certain.softmax();
  EXPECT_NEAR(dynamic_temperature_for(certain, params), 0.5, 1e-6);
}

TEST(DynamicTemperature, ZeroIsFlooredNotDividedBy) {
  DynamicTemperatureParams params{.temperature = 0.2f, .range = 0.5f, .exponent = 1.0f};  // low end 0
  Candidates certain = candidates_of({0.0f, kNegInf});
  certain.softmax();
  EXPECT_FLOAT_EQ(dynamic_temperature_for(certain, params), kMinDynamicTemperature);
  auto s = make_dynamic_temperature(params);
  Candidates c = run(*s, {0.0f, kNegInf});
  EXPECT_TRUE(std::isfinite(logit_of(c, 0)));
}

TEST(DynamicTemperature, OneCandidateIsLeftAlone) {
  auto s = make_dynamic_temperature({.temperature = 1.0f, .range = 0.5f});
  Candidates c = run(*s, {3.0f});
  EXPECT_FLOAT_EQ(logit_of(c, 0), 3.0f);
}

}  // namespace
}  // namespace limarp
