// Presence and frequency penalties (OpenAI semantics).
#include <gtest/gtest.h>

#include "sampling/penalties.h"
#include "sampling_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

TEST(PresenceFrequency, SubtractsPresenceOnceAndFrequencyPerOccurrence) {
  auto s = make_presence_frequency_penalty({.presence = 0.5f, .frequency = 0.25f, .range = 10});
  const std::vector<int32_t> history = {1, 1, 2};
  Candidates c = run(*s, {1.0f, 1.0f, 1.0f}, history);
  EXPECT_FLOAT_EQ(logit_of(c, 0), 1.0f);
  EXPECT_FLOAT_EQ(logit_of(c, 1), 1.0f - 0.5f - 2 * 0.25f);
  EXPECT_FLOAT_EQ(logit_of(c, 2), 1.0f - 0.5f - 0.25f);
}

TEST(PresenceFrequency, RangeCountsOnlyTheWindow) {
  auto s = make_presence_frequency_penalty({.presence = 0.0f, .frequency = 1.0f, .range = 2});
  const std::vector<int32_t> history = {1, 1, 1, 2};  // window 1, 2
  Candidates c = run(*s, {0.0f, 0.0f, 0.0f}, history);
  EXPECT_FLOAT_EQ(logit_of(c, 1), -1.0f);
  EXPECT_FLOAT_EQ(logit_of(c, 2), -1.0f);
}

TEST(PresenceFrequency, NegativeValuesEncourage) {
  auto s = make_presence_frequency_penalty({.presence = -1.0f, .frequency = 0.0f, .range = -1});
  const std::vector<int32_t> history = {0};
  EXPECT_FLOAT_EQ(logit_of(run(*s, {0.0f, 0.0f}, history), 0), 1.0f);
}

}  // namespace
}  // namespace limarp
