// Mirostat v1 and v2: truncation steered by the running surprise target mu.
#include <gtest/gtest.h>

#include "sampling/mirostat.h"
#include "sampling_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

// Surprises −log2 p = 1, 2, 3, 4, 4 bits.
const std::vector<double> kP = {0.5, 0.25, 0.125, 0.0625, 0.0625};

TEST(MirostatV2, KeepsTokensWithSurpriseUpToMuAndLearns) {
  MirostatSampler s({.version = 2, .tau = 1.5f, .eta = 0.1f});
  EXPECT_FLOAT_EQ(s.mu(), 3.0f);  // 2 · tau
  Candidates c = run(s, logits_of(kP));
  ASSERT_EQ(ids(c), (std::vector<int32_t>{0, 1, 2}));  // surprise <= 3
  // Renormalised: 4/7, 2/7, 1/7.
  EXPECT_NEAR(c[1].p, 2.0 / 7, 1e-6);
  s.accept(1);
  const double surprise = -std::log2(2.0 / 7);
  EXPECT_NEAR(s.mu(), 3.0 - 0.1 * (surprise - 1.5), 1e-5);
}

TEST(MirostatV2, AlwaysKeepsOne) {
  MirostatSampler s({.version = 2, .tau = 0.1f, .eta = 0.1f});  // mu 0.2 < every surprise
  EXPECT_EQ(ids(run(s, logits_of(kP))), (std::vector<int32_t>{0}));
}

TEST(MirostatV2, UnknownTokenLeavesMuAlone) {
  MirostatSampler s({.version = 2, .tau = 1.5f, .eta = 0.1f});
  (void)run(s, logits_of(kP));
  s.accept(4);  // truncated away: nothing learned
  EXPECT_FLOAT_EQ(s.mu(), 3.0f);
}

// k for mirostat v1, computed here with plain doubles.
double expected_v1_k(const std::vector<double>& p, double mu, int m) {
  double tb = 0, tt = 0;
  for (size_t i = 0; i + 1 < static_cast<size_t>(m) && i + 1 < p.size(); ++i) {
    const double t = std::log((i + 2.0) / (i + 1.0));
    const double b = std::log(p[i] / p[i + 1]);
    tb += t * b;
    tt += t * t;
  }
  const double s = tb / tt, eps = s - 1;
  return std::pow(eps * std::pow(2.0, mu) / (1 - std::pow(static_cast<double>(p.size()), -eps)), 1 / s);
}

TEST(MirostatV1, KeepsTheTopKFromTheZipfEstimate) {
  // tau 1 (mu 2): by hand s = 1.236, k = 2.42 → 2 tokens.
  const double k = expected_v1_k(kP, 2.0, 100);
  EXPECT_NEAR(k, 2.42, 0.01);
  MirostatSampler s({.version = 1, .tau = 1.0f, .eta = 0.1f});
  Candidates c = run(s, logits_of(kP));
  EXPECT_EQ(ids(c), (std::vector<int32_t>{0, 1}));
  // Learns from the renormalised probability (2/3 for token 0).
  s.accept(0);
  EXPECT_NEAR(s.mu(), 2.0 - 0.1 * (-std::log2(2.0 / 3) - 1.0), 1e-5);
}

TEST(MirostatV1, LargeMuKeepsEverything) {
  EXPECT_GT(expected_v1_k(kP, 4.0, 100), 5.0);
  MirostatSampler s({.version = 1, .tau = 2.0f, .eta = 0.1f});
  EXPECT_EQ(run(s, logits_of(kP)).size(), 5u);
}

TEST(Mirostat, AllMinusInfinityKeepsSomething) {
  MirostatSampler v1({.version = 1, .tau = 5.0f}), v2({.version = 2, .tau = 5.0f});
  EXPECT_GE(run(v1, {kNegInf, kNegInf, kNegInf}).size(), 1u);
  EXPECT_GE(run(v2, {kNegInf, kNegInf, kNegInf}).size(), 1u);
}

}  // namespace
}  // namespace limarp
