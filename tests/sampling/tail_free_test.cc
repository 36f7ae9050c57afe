// Tail-free sampling cuts where the curvature of the sorted probabilities has accumulated z.
#include <gtest/gtest.h>

#include "sampling/truncation.h"
#include "sampling_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

// p = 0.4, 0.3, 0.2, 0.05, 0.05. By hand: first differences 0.1, 0.1, 0.15, 0; absolute second
// differences 0, 0.05, 0.15; normalised 0, 0.25, 0.75; running sums 0, 0.25, 1.
// The first i >= 1 with sum > z keeps i tokens.
const std::vector<float> kTailFreeLogits = logits_of({0.4, 0.3, 0.2, 0.05, 0.05});

TEST(TailFree, CutsWhereTheCurvatureSumExceedsZ) {
  auto s = make_tail_free(0.95f);  // sum at i=2 is 1 > 0.95: keep 2
  EXPECT_EQ(ids(run(*s, kTailFreeLogits)), (std::vector<int32_t>{0, 1}));
  auto s2 = make_tail_free(0.2f);  // sum at i=1 is 0.25 > 0.2: keep 1
  EXPECT_EQ(ids(run(*s2, kTailFreeLogits)), (std::vector<int32_t>{0}));
}

TEST(TailFree, HalvingDistribution) {
  // p = 0.5, 0.25, 0.125, 0.0625, 0.0625: d1 = .25, .125, .0625, 0; d2 = .125, .0625, .0625;
  // normalised .5, .25, .25; sums .5, .75, 1.
  const auto logits = logits_of({0.5, 0.25, 0.125, 0.0625, 0.0625});
  auto s = make_tail_free(0.6f);  // i=1: 0.75 > 0.6 → keep 1
  EXPECT_EQ(ids(run(*s, logits)), (std::vector<int32_t>{0}));
  auto s2 = make_tail_free(0.9f);  // i=2: 1 > 0.9 → keep 2
  EXPECT_EQ(ids(run(*s2, logits)), (std::vector<int32_t>{0, 1}));
}

TEST(TailFree, OneIsOffAndTwoCandidatesAreLeftAlone) {
  auto off = make_tail_free(1.0f);
  EXPECT_EQ(run(*off, kTailFreeLogits).size(), 5u);
  auto s = make_tail_free(0.1f);
  EXPECT_EQ(run(*s, logits_of({0.9, 0.1})).size(), 2u);
}

TEST(TailFree, FlatDistributionHasNoTailToCut) {
  auto s = make_tail_free(0.5f);
  EXPECT_EQ(run(*s, {1.0f, 1.0f, 1.0f, 1.0f}).size(), 4u);
  EXPECT_EQ(run(*s, {kNegInf, kNegInf, kNegInf, kNegInf}).size(), 4u);
}

}  // namespace
}  // namespace limarp
