// Candidates: the order and softmax every sampler relies on.
#include <gtest/gtest.h>

#include "sampling_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

TEST(Candidates, SoftmaxOfLogProbabilitiesGivesTheProbabilities) {
  // logits ln(1), ln(2), ln(4): p = 1/7, 2/7, 4/7, sorted most likely first.
  Candidates c = candidates_of({0.0f, static_cast<float>(std::log(2.0)), static_cast<float>(std::log(4.0))});
  c.softmax();
  ASSERT_EQ(ids(c), (std::vector<int32_t>{2, 1, 0}));
  EXPECT_NEAR(c[0].p, 4.0 / 7, 1e-6);
  EXPECT_NEAR(c[1].p, 2.0 / 7, 1e-6);
  EXPECT_NEAR(c[2].p, 1.0 / 7, 1e-6);
}

TEST(Candidates, TiesSortByLowerIdFirst) {
  Candidates c = candidates_of({1.0f, 2.0f, 1.0f, 2.0f});
  c.sort_desc();
  EXPECT_EQ(ids(c), (std::vector<int32_t>{1, 3, 0, 2}));
}

TEST(Candidates, AllMinusInfinityGivesUniformProbabilities) {
  Candidates c = candidates_of({kNegInf, kNegInf, kNegInf, kNegInf});
  c.softmax();
  for (const auto& x : c.items()) EXPECT_FLOAT_EQ(x.p, 0.25f);
}

TEST(Candidates, PlusInfinityTakesAllTheMass) {
  const float inf = std::numeric_limits<float>::infinity();
  Candidates c = candidates_of({1.0f, inf, 3.0f});
  c.softmax();
  EXPECT_EQ(c[0].id, 1);
  EXPECT_FLOAT_EQ(c[0].p, 1.0f);
  EXPECT_FLOAT_EQ(c[1].p, 0.0f);
}

TEST(Candidates, NanLogitsNeverWin) {
  Candidates c = candidates_of({std::numeric_limits<float>::quiet_NaN(), 0.0f});
  c.softmax();
  EXPECT_EQ(c[0].id, 1);
  EXPECT_FLOAT_EQ(c[0].p, 1.0f);
  EXPECT_FLOAT_EQ(c[1].p, 0.0f);
}

TEST(Candidates, TruncateKeepsAtLeastOne) {
  Candidates c = candidates_of({1.0f, 3.0f, 2.0f});
  c.truncate(0);
  EXPECT_EQ(ids(c), (std::vector<int32_t>{1}));
}

}  // namespace
}  // namespace limarp
