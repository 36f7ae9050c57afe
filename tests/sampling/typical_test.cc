// Locally typical sampling keeps the tokens whose surprise is closest to the entropy.
#include <gtest/gtest.h>

#include "sampling/truncation.h"
#include "sampling_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

// kHalvingLogits, by hand: H = ln2 · (0.5·1 + 0.25·2 + 0.125·3 + 2·0.0625·4)
// = 1.875 ln2 = 1.2997. −ln p = ln2 · (1, 2, 3, 4, 4) = 0.693, 1.386, 2.079, 2.773, 2.773.
// |−ln p − H| = 0.607, 0.087, 0.780, 1.473, 1.473: order by typicality 1, 0, 2, 3, 4 with
// running sums 0.25, 0.75, 0.875, 0.9375, 1.
TEST(Typical, KeepsTheMostTypicalUntilTheSumExceedsP) {
  auto s = make_typical(0.5f);  // 0.25 <= 0.5 < 0.75
  EXPECT_EQ(id_set(run(*s, kHalvingLogits)), (std::vector<int32_t>{0, 1}));
  auto s2 = make_typical(0.8f);  // 0.75 <= 0.8 < 0.875
  EXPECT_EQ(id_set(run(*s2, kHalvingLogits)), (std::vector<int32_t>{0, 1, 2}));
}

TEST(Typical, CanDropTheMostLikelyToken) {
  auto s = make_typical(0.2f);  // the most typical token alone already exceeds 0.2
  EXPECT_EQ(ids(run(*s, kHalvingLogits)), (std::vector<int32_t>{1}));
}

TEST(Typical, EntropyComputedInTheTestAgrees) {
  const std::vector<double> p = {0.5, 0.25, 0.125, 0.0625, 0.0625};
  double h = 0;
  for (double x : p) h -= x * std::log(x);
  EXPECT_NEAR(h, 1.875 * std::log(2.0), 1e-12);
  // Token 1 is closest to the entropy.
  EXPECT_LT(std::fabs(-std::log(p[1]) - h), std::fabs(-std::log(p[0]) - h));
}

TEST(Typical, OneIsOffAndResultStaysSorted) {
  auto off = make_typical(1.0f);
  EXPECT_EQ(run(*off, kHalvingLogits).size(), 5u);
  auto s = make_typical(0.8f);
  EXPECT_EQ(ids(run(*s, kHalvingLogits)), (std::vector<int32_t>{0, 1, 2}));
}

TEST(Typical, AllMinusInfinityKeepsSome) {
  auto s = make_typical(0.5f);
  Candidates c = run(*s, {kNegInf, kNegInf, kNegInf, kNegInf});
  EXPECT_GE(c.size(), 1u);
}

}  // namespace
}  // namespace limarp
