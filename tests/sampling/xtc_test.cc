// XTC: exclude the top choices, keeping the least likely of those above the threshold.
#include <gtest/gtest.h>

#include "sampling/xtc.h"
#include "sampling_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

TEST(Xtc, RemovesAllButTheLeastLikelyAboveTheThreshold) {
  Rng rng(1);
  auto s = make_xtc({.threshold = 0.2f, .probability = 1.0f});  // above: 0.5, 0.25
  EXPECT_EQ(ids(run(*s, kHalvingLogits, {}, &rng)), (std::vector<int32_t>{1, 2, 3, 4}));
  auto s2 = make_xtc({.threshold = 0.1f, .probability = 1.0f});  // above: 0.5, 0.25, 0.125
  EXPECT_EQ(ids(run(*s2, kHalvingLogits, {}, &rng)), (std::vector<int32_t>{2, 3, 4}));
}

TEST(Xtc, NeedsTwoTokensAboveTheThreshold) {
  Rng rng(1);
  auto s = make_xtc({.threshold = 0.3f, .probability = 1.0f});
  EXPECT_EQ(run(*s, kHalvingLogits, {}, &rng).size(), 5u);
  auto high = make_xtc({.threshold = 0.6f, .probability = 1.0f});  // > 0.5: off
  EXPECT_EQ(run(*high, kHalvingLogits, {}, &rng).size(), 5u);
}

TEST(Xtc, AppliesWithTheGivenProbability) {
  // The coin is the Rng's next uniform number: XTC acts when it is below the probability.
  auto s = make_xtc({.threshold = 0.2f, .probability = 0.5f});
  Rng rng(42), mirror(42);
  int applied = 0;
  for (int i = 0; i < 200; ++i) {
    const bool expect_applied = mirror.uniform() < 0.5;
    const size_t n = run(*s, kHalvingLogits, {}, &rng).size();
    EXPECT_EQ(n, expect_applied ? 4u : 5u);
    applied += expect_applied;
  }
  EXPECT_GT(applied, 60);
  EXPECT_LT(applied, 140);
}

TEST(Xtc, ZeroProbabilityOrNoRngIsOff) {
  Rng rng(1);
  auto off = make_xtc({.threshold = 0.2f, .probability = 0.0f});
  EXPECT_EQ(run(*off, kHalvingLogits, {}, &rng).size(), 5u);
  auto s = make_xtc({.threshold = 0.2f, .probability = 1.0f});
  EXPECT_EQ(run(*s, kHalvingLogits, {}, nullptr).size(), 5u);
}

}  // namespace
}  // namespace limarp
