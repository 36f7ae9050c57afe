// Length-evaluation statistics on hand-made samples (quantiles, shares, Spearman with ties),
// word counting, and LimaRP YAML conversations read into chats (names substituted, errors that
// name the file and key, malformed YAML refused).
#include <gtest/gtest.h>

#include "base/text_util.h"
#include "chat/length_eval.h"
#include "chat/limarp_yaml.h"

namespace limarp {
namespace {

TEST(LengthEval, StatisticsPerLevel) {
  std::vector<LengthSample> s;
  for (int w : {10, 20, 30, 40, 50}) s.push_back({LengthLevel::kShort, 0, w, 2 * w, w == 50, w == 10, ""});
  s.push_back({LengthLevel::kLong, 0, 100, 150, false, false, ""});
  const auto stats = length_stats(s);
  ASSERT_EQ(stats.size(), 2u);
  const LevelStats& a = stats[0];
  EXPECT_EQ(a.level, LengthLevel::kShort);
  EXPECT_EQ(a.n, 5);
  EXPECT_DOUBLE_EQ(a.mean_words, 30);
  EXPECT_DOUBLE_EQ(a.median_words, 30);
  EXPECT_DOUBLE_EQ(a.p10_words, 14);   // 10 + 0.4 * (20 - 10), linear interpolation
  EXPECT_DOUBLE_EQ(a.p90_words, 46);
  EXPECT_DOUBLE_EQ(a.p25_words, 20);
  EXPECT_DOUBLE_EQ(a.mean_tokens, 60);
  EXPECT_DOUBLE_EQ(a.impersonation_share, 0.2);
  EXPECT_DOUBLE_EQ(a.limit_share, 0.2);
  EXPECT_EQ(stats[1].level, LengthLevel::kLong);
}

TEST(LengthEval, SpearmanRankCorrelation) {
  EXPECT_DOUBLE_EQ(spearman_rho({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(spearman_rho({1, 2, 3, 4}, {40, 30, 20, 10}), -1.0);
  // One swapped pair of 4: 1 - 6 * 2 / (4 * 15) = 0.8.
  EXPECT_NEAR(spearman_rho({1, 2, 3, 4}, {10, 30, 20, 40}), 0.8, 1e-12);
  // Ties share the average rank: y ranks {1.5, 1.5, 3}; Pearson of ranks (1,2,3) vs that.
  EXPECT_NEAR(spearman_rho({1, 2, 3}, {5, 5, 9}), 0.8660254037844386, 1e-12);
}

TEST(LengthEval, CountsWords) {
  EXPECT_EQ(count_words(""), 0);
  EXPECT_EQ(count_words("  one  two\nthree\t"), 3);
  EXPECT_EQ(count_words("*Mira smiles.* \"Hi!\""), 3);
}

TEST(LimarpYaml, ReadsConversationsWithNames) {
  const char* text = R"(personas:
  <FIRST>: "<FIRST> is a kind baker who knows <SECOND>."
  <SECOND>: "A hungry traveler."
names:
  <FIRST>: Mira
  <SECOND>: Tom
scenario: "<SECOND> walks into <FIRST>'s bakery --- it is raining."
conversation:
  - name: <SECOND>
    text: "Hello, <FIRST>!"
  - name: <FIRST>
    text: "*<FIRST> smiles.* Hi, <SECOND>."
)";
  auto c = parse_limarp_conversation(text, "a.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->char_name, "Mira");
  EXPECT_EQ(c->user_name, "Tom");
  EXPECT_EQ(c->char_persona, "Mira is a kind baker who knows Tom.");
  EXPECT_EQ(c->scenario, "Tom walks into Mira's bakery \xE2\x80\x94 it is raining.");
  ASSERT_EQ(c->messages.size(), 2u);
  EXPECT_EQ(c->messages[0].role, ChatRole::kUser);
  EXPECT_EQ(c->messages[1].text, "*Mira smiles.* Hi, Tom.");
}

TEST(LimarpYaml, malformed_conversations_name_the_problem) {
  auto bad_yaml = parse_limarp_conversation("names: [unclosed", "b.yaml");
  ASSERT_FALSE(bad_yaml.ok());
  EXPECT_NE(bad_yaml.error().message().find("b.yaml"), std::string::npos);
  auto no_names = parse_limarp_conversation("conversation: []", "c.yaml");
  ASSERT_FALSE(no_names.ok());
  EXPECT_NE(no_names.error().message().find("names"), std::string::npos);
  auto bad_role = parse_limarp_conversation(
      "names: {<FIRST>: A, <SECOND>: B}\nconversation:\n  - {name: <THIRD>, text: hi}\n", "d.yaml");
  ASSERT_FALSE(bad_role.ok());
  EXPECT_NE(bad_role.error().message().find("conversation[0].name"), std::string::npos);
  auto nested = parse_limarp_conversation(std::string(5000, '[') + std::string(5000, ']'), "e.yaml");
  EXPECT_FALSE(nested.ok());
}

}  // namespace
}  // namespace limarp
