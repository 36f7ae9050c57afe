// Min-p keeps tokens with p >= min_p · p_max.
#include <gtest/gtest.h>

#include "sampling/truncation.h"
#include "sampling_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

TEST(MinP, KeepsTokensAboveAFractionOfTheBest) {
  auto s = make_min_p(0.3f);  // threshold 0.15: 0.5 and 0.25
  EXPECT_EQ(ids(run(*s, kHalvingLogits)), (std::vector<int32_t>{0, 1}));
  auto s2 = make_min_p(0.2f);  // threshold 0.1: 0.5, 0.25, 0.125
  EXPECT_EQ(ids(run(*s2, kHalvingLogits)), (std::vector<int32_t>{0, 1, 2}));
}

TEST(MinP, ZeroIsOffAndOneKeepsTheBest) {
  auto off = make_min_p(0.0f);
  EXPECT_EQ(run(*off, kHalvingLogits).size(), 5u);
  auto one = make_min_p(1.0f);
  EXPECT_EQ(ids(run(*one, kHalvingLogits)), (std::vector<int32_t>{0}));
}

TEST(MinP, AllMinusInfinityKeepsEverything) {
  auto s = make_min_p(0.5f);
  EXPECT_EQ(run(*s, {kNegInf, kNegInf, kNegInf}).size(), 3u);
}

}  // namespace
}  // namespace limarp
