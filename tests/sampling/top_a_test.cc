// Top-a keeps tokens with p >= a · p_max².
#include <gtest/gtest.h>

#include "sampling/truncation.h"
#include "sampling_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

TEST(TopA, ThresholdIsAOfTheSquaredBest) {
  auto s = make_top_a(0.6f);  // 0.6 · 0.25 = 0.15: 0.5, 0.25
  EXPECT_EQ(ids(run(*s, kHalvingLogits)), (std::vector<int32_t>{0, 1}));
  auto s2 = make_top_a(0.4f);  // 0.1: 0.5, 0.25, 0.125
  EXPECT_EQ(ids(run(*s2, kHalvingLogits)), (std::vector<int32_t>{0, 1, 2}));
}

TEST(TopA, AHighEnoughKeepsOnlyTheBest) {
  auto s = make_top_a(2.1f);  // 0.525 > 0.5: still keeps one
  EXPECT_EQ(ids(run(*s, kHalvingLogits)), (std::vector<int32_t>{0}));
}

TEST(TopA, ZeroIsOff) {
  auto s = make_top_a(0.0f);
  EXPECT_EQ(run(*s, kHalvingLogits).size(), 5u);
}

TEST(TopA, FlatDistributionKeepsAll) {
  // p = 0.25 each, threshold 1 · 0.0625.
  auto s = make_top_a(1.0f);
  EXPECT_EQ(run(*s, {1.0f, 1.0f, 1.0f, 1.0f}).size(), 4u);
}

}  // namespace
}  // namespace limarp
