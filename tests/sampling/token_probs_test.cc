// token_probs against hand-computed softmaxes, including what the chain leaves behind:
// truncated tokens, banned ones, +inf biases.
#include "sampling/token_probs.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace limarp {
namespace {

Candidates probs_candidates(std::vector<float> logits) {
  Candidates c;
  c.reset(logits);
  return c;
}

TEST(TokenProbs, SoftmaxOfWhatIsLeft) {
  // ln(e^2 + e^1 + e^0) = 2.40760596...
  const Candidates c = probs_candidates({1.0f, 2.0f, 0.0f});
  const TokenProbs p = token_probs(c, 0, 2);
  EXPECT_NEAR(p.chosen.logprob, 1.0 - 2.4076059644443806, 1e-9);
  ASSERT_EQ(p.top.size(), 2u);
  EXPECT_EQ(p.top[0].id, 1);
  EXPECT_NEAR(p.top[0].logprob, 2.0 - 2.4076059644443806, 1e-9);
  EXPECT_EQ(p.top[1].id, 0);
}

TEST(TokenProbs, TruncatedAndBannedTokensAreNotListed) {
  Candidates c = probs_candidates({3.0f, 1.0f, 2.0f, -std::numeric_limits<float>::infinity()});
  c.truncate(2);  // keeps ids 0 and 2, as top-k 2 would
  const TokenProbs p = token_probs(c, 2, 10);
  ASSERT_EQ(p.top.size(), 2u);
  EXPECT_EQ(p.top[0].id, 0);
  EXPECT_EQ(p.top[1].id, 2);
  EXPECT_NEAR(std::exp(p.top[0].logprob) + std::exp(p.top[1].logprob), 1.0, 1e-12);
  const TokenProbs banned = token_probs(probs_candidates({0.0f, -std::numeric_limits<float>::infinity()}), 1, 2);
  EXPECT_TRUE(std::isinf(banned.chosen.logprob));
  EXPECT_EQ(banned.top.size(), 1u);
}

TEST(TokenProbs, TiesAndDegenerateCases) {
  const TokenProbs tie = token_probs(probs_candidates({1.0f, 1.0f, 1.0f}), 2, 2);
  EXPECT_EQ(tie.top[0].id, 0);
  EXPECT_EQ(tie.top[1].id, 1);
  EXPECT_NEAR(tie.chosen.logprob, -std::log(3.0), 1e-12);
  const float inf = std::numeric_limits<float>::infinity();
  const TokenProbs forced = token_probs(probs_candidates({0.0f, inf, inf}), 1, 3);
  EXPECT_NEAR(forced.chosen.logprob, -std::log(2.0), 1e-12);
  EXPECT_EQ(forced.top.size(), 2u);
  const TokenProbs all_banned = token_probs(probs_candidates({-inf, -inf}), 0, 1);
  EXPECT_NEAR(all_banned.chosen.logprob, -std::log(2.0), 1e-12);
  EXPECT_TRUE(token_probs(probs_candidates({0.5f}), 0, 0).top.empty());
}

}  // namespace
}  // namespace limarp
