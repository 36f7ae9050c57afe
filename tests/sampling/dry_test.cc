// DRY: penalties for the token that would continue a verbatim repeat.
#include <gtest/gtest.h>

#include "sampling/dry.h"
#include "sampling_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

// A toy vocabulary: ids 0-9.
enum : int32_t { A, B, C, D, NL, COLON, X, Q_NL, NL_R, E };
std::shared_ptr<const TokenTexts> texts() {
  return std::make_shared<const TokenTexts>(TokenTexts{"a", "b", "c", "d", "\n", ":", "x", "q\n", "\nr", "e"});
}

DryParams params(std::vector<std::string> breakers = {"\n", ":", "\"", "*"}) {
  return {.multiplier = 0.8f, .base = 1.75f, .allowed_length = 2, .penalty_last_n = 0, .sequence_breakers = breakers};
}

TEST(Dry, PenalisesTheTokenThatContinuesARepeat) {
  // a b c d a b c: the tail "a b c" repeats the run ending at index 2 (length 3), which was
  // followed by d. Penalty 0.8 · 1.75^(3 - 2) = 1.4.
  const std::vector<int32_t> h = {A, B, C, D, A, B, C};
  const auto pen = dry_penalties(h, params(), texts().get());
  ASSERT_EQ(pen.size(), 1u);
  EXPECT_EQ(pen[0].first, D);
  EXPECT_NEAR(pen[0].second, 0.8 * 1.75, 1e-5);

  auto s = make_dry(params(), texts());
  Candidates c = run(*s, std::vector<float>(10, 1.0f), h);
  EXPECT_NEAR(logit_of(c, D), 1.0 - 0.8 * 1.75, 1e-5);
  EXPECT_FLOAT_EQ(logit_of(c, A), 1.0f);
}

TEST(Dry, RepeatsUpToTheAllowedLengthAreFree) {
  // a b x a b: tail "a b" repeats (length 2 = allowed): penalty 0.8 · 1.75^0 on x.
  const std::vector<int32_t> h = {A, B, X, A, B};
  const auto pen = dry_penalties(h, params(), texts().get());
  ASSERT_EQ(pen.size(), 1u);
  EXPECT_EQ(pen[0].first, X);
  EXPECT_NEAR(pen[0].second, 0.8, 1e-6);
  // a x a: a repeat of length 1 < 2 is free.
  const std::vector<int32_t> h2 = {A, X, A};
  EXPECT_TRUE(dry_penalties(h2, params(), texts().get()).empty());
}

TEST(Dry, TheLongestMatchDecidesTheToken) {
  // e a b c x, ... a b c x?: d follows "b c" (length 2) at one place, x follows "a b c"...
  // h = b c d a b c x a b c: tail "a b c" (len 3) matches at index 5 (followed by x);
  // tail "b c" (len 2) matches at index 1 (followed by d).
  const std::vector<int32_t> h = {B, C, D, A, B, C, X, A, B, C};
  auto pen = dry_penalties(h, params(), texts().get());
  ASSERT_EQ(pen.size(), 2u);
  EXPECT_EQ(pen[0].first, D);
  EXPECT_NEAR(pen[0].second, 0.8, 1e-6);          // 1.75^0
  EXPECT_EQ(pen[1].first, X);
  EXPECT_NEAR(pen[1].second, 0.8 * 1.75, 1e-5);   // 1.75^1
}

TEST(Dry, SequenceBreakersStopARepeat) {
  // a b : c a b : c — without breakers the tail "a b : c" (len 4) repeats, followed by a:
  // 0.8 · 1.75^2. With ":" a breaker only "c" is usable: shorter than allowed, no penalty.
  const std::vector<int32_t> h = {A, B, COLON, C, A, B, COLON, C};
  auto none = dry_penalties(h, params({}), nullptr);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].first, A);
  EXPECT_NEAR(none[0].second, 0.8 * 1.75 * 1.75, 1e-5);
  EXPECT_TRUE(dry_penalties(h, params(), texts().get()).empty());
}

TEST(Dry, ABreakerSplitAcrossTokensCounts) {
  // "q\n" + "\nr" hold "\n\n" across the boundary; with only "\n\n" as a breaker both tokens
  // are breaker positions, so the tail after them is "a b" only (len 2, followed by c earlier).
  const std::vector<int32_t> h = {A, B, C, Q_NL, NL_R, A, B};
  auto pen = dry_penalties(h, params({"\n\n"}), texts().get());
  ASSERT_EQ(pen.size(), 1u);
  EXPECT_EQ(pen[0].first, C);
  // If the newest token is itself a breaker, nothing is penalised.
  const std::vector<int32_t> h2 = {A, B, Q_NL, A, B, Q_NL, NL_R};
  EXPECT_TRUE(dry_penalties(h2, params({"\n\n"}), texts().get()).empty());
}

TEST(Dry, WindowLimitsHowFarBackMatchesAreFound) {
  const std::vector<int32_t> h = {A, B, C, D, E, E, X, A, B, C};
  auto p = params();
  EXPECT_EQ(dry_penalties(h, p, texts().get()).size(), 1u);
  p.penalty_last_n = 5;  // window: e x a b c: no earlier "b c"
  EXPECT_TRUE(dry_penalties(h, p, texts().get()).empty());
}

TEST(Dry, LongRepeatsStayFinite) {
  // 300 copies of the same token: the exponent is huge; the penalty is capped, not inf.
  const std::vector<int32_t> h(300, A);
  auto pen = dry_penalties(h, params(), texts().get());
  ASSERT_EQ(pen.size(), 1u);
  EXPECT_TRUE(std::isfinite(pen[0].second));
  EXPECT_GT(pen[0].second, 1e20f);
}

TEST(Dry, OffAndShortHistoriesDoNothing) {
  auto p = params();
  p.multiplier = 0;
  const std::vector<int32_t> h = {A, B, A, B};
  EXPECT_TRUE(dry_penalties(h, p, texts().get()).empty());
  const std::vector<int32_t> one = {A};
  EXPECT_TRUE(dry_penalties(one, params(), texts().get()).empty());
}

}  // namespace
}  // namespace limarp
