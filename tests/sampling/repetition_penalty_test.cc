// Repetition penalty with range and slope (KoboldCpp semantics).
#include <gtest/gtest.h>

#include "sampling/penalties.h"
#include "sampling_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

const std::vector<float> kPenaltyLogits = {2.0f, -1.0f, 0.5f, 3.0f, 0.0f};

TEST(RepetitionPenalty, DividesPositiveAndMultipliesNegative) {
  auto s = make_repetition_penalty({.penalty = 2.0f, .range = 10, .slope = 1.0f});
  const std::vector<int32_t> history = {0, 1, 4};
  Candidates c = run(*s, kPenaltyLogits, history);
  EXPECT_FLOAT_EQ(logit_of(c, 0), 1.0f);   // 2 / 2
  EXPECT_FLOAT_EQ(logit_of(c, 1), -2.0f);  // -1 · 2
  EXPECT_FLOAT_EQ(logit_of(c, 2), 0.5f);   // not in the history
  EXPECT_FLOAT_EQ(logit_of(c, 4), 0.0f);   // 0 · 2
}

TEST(RepetitionPenalty, RangeLimitsTheWindow) {
  auto s = make_repetition_penalty({.penalty = 2.0f, .range = 2, .slope = 1.0f});
  const std::vector<int32_t> history = {0, 3, 2};  // window: 3, 2
  Candidates c = run(*s, kPenaltyLogits, history);
  EXPECT_FLOAT_EQ(logit_of(c, 0), 2.0f);
  EXPECT_FLOAT_EQ(logit_of(c, 3), 1.5f);
  EXPECT_FLOAT_EQ(logit_of(c, 2), 0.25f);
}

TEST(RepetitionPenalty, NegativeRangeIsTheWholeHistoryAndZeroIsOff) {
  const std::vector<int32_t> history = {0, 3, 2};
  auto all = make_repetition_penalty({.penalty = 2.0f, .range = -1});
  EXPECT_FLOAT_EQ(logit_of(run(*all, kPenaltyLogits, history), 0), 1.0f);
  auto off = make_repetition_penalty({.penalty = 2.0f, .range = 0});
  EXPECT_FLOAT_EQ(logit_of(run(*off, kPenaltyLogits, history), 0), 2.0f);
}

TEST(RepetitionPenalty, SlopeReducesThePenaltyOnTheOlderHalf) {
  // Window 0, 2 | 3, 4: the older half (0, 2) gets 1 + (1.5 - 1) · 0.5 = 1.25, the newer 1.5.
  auto s = make_repetition_penalty({.penalty = 1.5f, .range = 4, .slope = 0.5f});
  const std::vector<int32_t> history = {1, 0, 2, 3, 4};
  Candidates c = run(*s, kPenaltyLogits, history);
  EXPECT_FLOAT_EQ(logit_of(c, 1), -1.0f);         // outside the window
  EXPECT_FLOAT_EQ(logit_of(c, 0), 2.0f / 1.25f);  // older half
  EXPECT_FLOAT_EQ(logit_of(c, 2), 0.5f / 1.25f);
  EXPECT_FLOAT_EQ(logit_of(c, 3), 3.0f / 1.5f);   // newer half
}

TEST(RepetitionPenalty, ATokenInBothHalvesGetsTheFullPenalty) {
  auto s = make_repetition_penalty({.penalty = 1.5f, .range = 4, .slope = 0.0f});
  const std::vector<int32_t> history = {0, 2, 0, 4};  // older: 0, 2; newer: 0, 4
  Candidates c = run(*s, kPenaltyLogits, history);
  EXPECT_FLOAT_EQ(logit_of(c, 0), 2.0f / 1.5f);
  EXPECT_FLOAT_EQ(logit_of(c, 2), 0.5f);  // slope 0: the older half is not penalised
}

TEST(RepetitionPenalty, OddWindowPutsTheMiddleTokenInTheNewerHalf) {
  // 5 tokens: older = first 2, newer = last 3.
  auto s = make_repetition_penalty({.penalty = 2.0f, .range = 5, .slope = 0.0f});
  const std::vector<int32_t> history = {0, 1, 2, 3, 4};
  Candidates c = run(*s, kPenaltyLogits, history);
  EXPECT_FLOAT_EQ(logit_of(c, 1), -1.0f);
  EXPECT_FLOAT_EQ(logit_of(c, 2), 0.25f);
}

TEST(RepetitionPenalty, EmptyHistoryAndPenaltyOneChangeNothing) {
  auto s = make_repetition_penalty({.penalty = 2.0f, .range = 10});
  EXPECT_FLOAT_EQ(logit_of(run(*s, kPenaltyLogits, {}), 0), 2.0f);
  auto one = make_repetition_penalty({.penalty = 1.0f, .range = 10});
  const std::vector<int32_t> history = {0};
  EXPECT_FLOAT_EQ(logit_of(run(*one, kPenaltyLogits, history), 0), 2.0f);
}

}  // namespace
}  // namespace limarp
