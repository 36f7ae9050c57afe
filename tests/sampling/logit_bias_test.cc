// Logit bias and banned tokens.
#include <gtest/gtest.h>

#include "sampling/logit_bias.h"
#include "sampling_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

TEST(LogitBias, AddsToTheListedTokensAndIgnoresUnknownIds) {
  auto s = make_logit_bias({{0, 5.0f}, {2, kNegInf}, {7, 1.0f}, {-3, 1.0f}});
  Candidates c = run(*s, {1.0f, 2.0f, 3.0f});
  EXPECT_FLOAT_EQ(logit_of(c, 0), 6.0f);
  EXPECT_FLOAT_EQ(logit_of(c, 1), 2.0f);
  EXPECT_EQ(logit_of(c, 2), kNegInf);
  EXPECT_EQ(c.size(), 3u);
}

TEST(LogitBias, WorksOnReorderedCandidates) {
  auto s = make_logit_bias({{0, 5.0f}});
  Candidates c = candidates_of({1.0f, 2.0f, 3.0f});
  c.sort_desc();  // ids 2, 1, 0: not in id order any more
  SamplerContext ctx{};
  s->apply(c, ctx);
  EXPECT_FLOAT_EQ(logit_of(c, 0), 6.0f);
  EXPECT_FLOAT_EQ(logit_of(c, 2), 3.0f);
}

TEST(BannedTokens, SetsMinusInfinity) {
  auto s = make_banned_tokens({1, 99});
  Candidates c = run(*s, {1.0f, 2.0f, 3.0f});
  EXPECT_EQ(logit_of(c, 1), kNegInf);
  EXPECT_FLOAT_EQ(logit_of(c, 2), 3.0f);
}

}  // namespace
}  // namespace limarp
