// Banned strings: detect a phrase across tokens, report the rewind, ban the first token there.
#include <gtest/gtest.h>

#include "sampling/banned_strings.h"
#include "sampling/text_match.h"

namespace limarp {
namespace {

TEST(PartialSuffix, HeldTextIsTheLongestPossibleStart) {
  const std::vector<std::string> p = {"### Input", "\nBob:"};
  EXPECT_EQ(partial_suffix_length("Hello ###", p), 3u);
  EXPECT_EQ(partial_suffix_length("Hello #", p), 1u);
  EXPECT_EQ(partial_suffix_length("Hello\nBo", p), 3u);
  EXPECT_EQ(partial_suffix_length("Hello", p), 0u);
  EXPECT_EQ(partial_suffix_length("", p), 0u);
  // A complete match is not "partial".
  EXPECT_EQ(partial_suffix_length("x### Input", {std::vector<std::string>{"### Input"}}), 0u);
}

TEST(FindFirstPattern, EarliestThenLongest) {
  const std::vector<std::string> p = {"ab", "abc", "b"};
  auto hit = find_first_pattern("xxabcb", p);
  ASSERT_TRUE(hit.found());
  EXPECT_EQ(hit.pos, 2u);
  EXPECT_EQ(hit.pattern, 1u);
  EXPECT_FALSE(find_first_pattern("xyz", p).found());
}

TEST(BannedStrings, PhraseAcrossTokensRewindsToWhereItBegan) {
  BannedStringMatcher m({"shivers down"});
  EXPECT_FALSE(m.push(10, " The"));
  EXPECT_EQ(m.final_tokens(), 1u);
  EXPECT_FALSE(m.push(11, " shiv"));
  EXPECT_EQ(m.final_tokens(), 1u);  // " shiv" may begin the phrase: held
  EXPECT_FALSE(m.push(12, "ers"));
  auto hit = m.push(13, " down");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->position, 1u);
  EXPECT_EQ(hit->rewind_tokens, 3u);
  EXPECT_EQ(hit->banned_token, 11);
  EXPECT_EQ(m.size(), 1u);
  ASSERT_EQ(m.bans_at(1).size(), 1u);
  EXPECT_EQ(m.bans_at(1)[0], 11);
  EXPECT_TRUE(m.bans_at(2).empty());
  // A different continuation passes; its trailing "s" might still begin "shivers".
  EXPECT_FALSE(m.push(14, " chills"));
  EXPECT_EQ(m.final_tokens(), 1u);
  EXPECT_FALSE(m.push(15, " ran"));
  EXPECT_EQ(m.final_tokens(), 3u);
}

TEST(BannedStrings, CaseInsensitiveByDefault) {
  BannedStringMatcher m({"Ministrations"});
  EXPECT_FALSE(m.push(1, " her"));
  auto hit = m.push(2, " MINISTRATIONS");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->position, 1u);
  BannedStringMatcher exact({"Ministrations"}, {.case_matching = CaseMatching::kExact});
  EXPECT_FALSE(exact.push(2, " ministrations"));
}

TEST(BannedStrings, PhraseInsideOneTokenAndMidToken) {
  BannedStringMatcher m({"bad"});
  EXPECT_FALSE(m.push(1, "a"));
  auto hit = m.push(2, "xbad!");  // starts inside the token itself
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->position, 1u);
  EXPECT_EQ(hit->rewind_tokens, 1u);
}

TEST(BannedStrings, LaterBansAreForgottenWhenRewindingEarlier) {
  BannedStringMatcher m({"ab", "xyz", "cw"});
  m.push(1, "q");
  m.push(2, "a");
  auto first = m.push(3, "b");  // "qab": rewind to position 1, ban token 2 there
  ASSERT_TRUE(first);
  EXPECT_EQ(first->position, 1u);
  m.push(4, "c");  // position 1, now allowed
  m.push(5, "x");
  m.push(6, "y");
  auto second = m.push(7, "z");  // "qcxyz": rewind to position 2, ban token 5 there
  ASSERT_TRUE(second);
  EXPECT_EQ(second->position, 2u);
  EXPECT_EQ(m.bans_at(1).size(), 1u);
  EXPECT_EQ(m.bans_at(2).size(), 1u);
  auto third = m.push(9, "w");  // "qcw": rewind to position 1 again
  ASSERT_TRUE(third);
  EXPECT_EQ(third->position, 1u);
  EXPECT_EQ(third->rewind_tokens, 2u);
  // The ban at position 2 belonged to the abandoned continuation; position 1 keeps both.
  EXPECT_TRUE(m.bans_at(2).empty());
  EXPECT_EQ(std::vector<int32_t>(m.bans_at(1).begin(), m.bans_at(1).end()), (std::vector<int32_t>{2, 4}));
}

TEST(BannedStrings, StopsReportingAfterMaxRewinds) {
  BannedStringMatcher m({"z"}, {.max_rewinds = 2});
  EXPECT_TRUE(m.push(1, "z"));
  EXPECT_TRUE(m.push(1, "z"));
  EXPECT_FALSE(m.push(1, "z"));
  EXPECT_EQ(m.rewinds(), 2);
  m.reset();
  EXPECT_EQ(m.rewinds(), 0);
  EXPECT_TRUE(m.bans_at(0).empty());
}

TEST(BannedStrings, FinishMakesEverythingFinal) {
  BannedStringMatcher m({"hello world"});
  m.push(1, "say");
  m.push(2, " hello");
  EXPECT_EQ(m.final_tokens(), 1u);
  m.finish();
  EXPECT_EQ(m.final_tokens(), 2u);
  BannedStringMatcher none({});
  EXPECT_FALSE(none.active());
  none.push(1, "x");
  EXPECT_EQ(none.final_tokens(), 1u);
}

}  // namespace
}  // namespace limarp
