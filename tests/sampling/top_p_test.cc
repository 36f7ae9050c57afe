// Top-p (nucleus) keeps the smallest head whose probabilities sum to at least p.
#include <gtest/gtest.h>

#include "sampling/truncation.h"
#include "sampling_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

// kHalvingLogits: running sums 0.5, 0.75, 0.875, 0.9375, 1.
TEST(TopP, KeepsTheHeadThatFirstReachesP) {
  auto s = make_top_p(0.7f);  // 0.5 < 0.7 <= 0.75
  EXPECT_EQ(ids(run(*s, kHalvingLogits)), (std::vector<int32_t>{0, 1}));
  auto s2 = make_top_p(0.8f);  // 0.75 < 0.8 <= 0.875
  EXPECT_EQ(ids(run(*s2, kHalvingLogits)), (std::vector<int32_t>{0, 1, 2}));
  auto s3 = make_top_p(0.99f);
  EXPECT_EQ(run(*s3, kHalvingLogits).size(), 5u);
}

TEST(TopP, ZeroKeepsOnlyTheMostLikely) {
  auto s = make_top_p(0.0f);
  EXPECT_EQ(ids(run(*s, kHalvingLogits)), (std::vector<int32_t>{0}));
}

TEST(TopP, OneIsOff) {
  auto s = make_top_p(1.0f);
  EXPECT_EQ(run(*s, kHalvingLogits).size(), 5u);
}

TEST(TopP, AllMinusInfinityIsUniform) {
  // Uniform 1/4 each: 0.5 needs two.
  auto s = make_top_p(0.5f);
  EXPECT_EQ(run(*s, {kNegInf, kNegInf, kNegInf, kNegInf}).size(), 2u);
}

}  // namespace
}  // namespace limarp
