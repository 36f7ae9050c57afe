// Length augmentation: openings start at each later user turn; truncated copies cut replies
// at sentence ends (quotes and asterisks balanced) to a lower level and are relabelled; the
// validation split never trains on a variant of a held-out conversation; the dataset keys are
// validated. (The limarp dataset's variants are checked in dataset_test.cc.)
#include <gtest/gtest.h>

#include <set>

#include "base/text_util.h"
#include "train/batch_plan.h"
#include "train/length_augment.h"
#include "train/train_config.h"

namespace limarp::train {
namespace {

const LengthMeasure kWords = [](std::string_view s) { return count_words(s); };

std::vector<std::string> heads(std::string_view text) {
  std::vector<std::string> out;
  for (size_t cut : sentence_cuts(text)) out.emplace_back(text.substr(0, cut));
  return out;
}

TEST(SentenceCuts, EndAfterClosingMarksWithQuotesAndAsterisksBalanced) {
  EXPECT_EQ(heads("One. Two! Three? Four"), (std::vector<std::string>{"One.", "One. Two!", "One. Two! Three?"}));
  // Inside a quotation or an action there is no cut; after its closing mark there is.
  EXPECT_EQ(heads("*She waves. Then smiles.* \"Hello. Come in!\" He nods."),
            (std::vector<std::string>{"*She waves. Then smiles.*", "*She waves. Then smiles.* \"Hello. Come in!\""}));
  // Runs of marks are one end; a mark inside a word or at the very end is no cut.
  EXPECT_EQ(heads("Wait... what?! No.\n\nYes 3.5 times. End."),
            (std::vector<std::string>{"Wait...", "Wait... what?!", "Wait... what?! No.", "Wait... what?! No.\n\nYes 3.5 times."}));
  EXPECT_TRUE(sentence_cuts("").empty());
  EXPECT_TRUE(sentence_cuts("no sentence end at all").empty());
  EXPECT_TRUE(sentence_cuts("\"unbalanced. quote").empty());
}

ChatState scene() {
  ChatState c;
  c.char_name = "Mira";
  c.user_name = "Tom";
  c.scenario = "Tom visits the bakery.";
  auto add = [&](ChatRole role, std::string text) { c.messages.push_back({role, std::move(text), std::nullopt}); };
  add(ChatRole::kUser, "Hello?");
  add(ChatRole::kChar, "Hi.");  // tiny: never cut
  add(ChatRole::kUser, "What is that smell?");
  add(ChatRole::kChar,
      "*She lifts a tray.* \"Bread. Fresh from the oven.\" She sets it down. \"Try a piece, it is still warm and soft. "
      "My grandmother taught me the recipe when I was small, and I still use her old wooden spoon every morning.\" "
      "She smiles. \"Do you like it?\"");
  add(ChatRole::kUser, "Yes!");
  add(ChatRole::kChar, "Good. Come back tomorrow. There will be buns.");
  return c;
}

// The long reply is 48 words (humongous); its sentence ends come after 4, 9, 13, 42 and 44 words.
const LengthLabelRule kRule{.upper_bounds = {3, 8, 12, 24, 32, 43, 64}};

TEST(LengthVariants, OpeningsStartAtEachLaterUserTurn) {
  Rng rng(1);
  const ChatState c = scene();
  const auto v = length_variants(c, {.openings = true}, kRule, kWords, rng);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].messages.size(), 4u);
  EXPECT_EQ(v[1].messages.size(), 2u);
  for (const auto& o : v) {
    EXPECT_EQ(o.messages.front().role, ChatRole::kUser);
    EXPECT_EQ(o.messages.back(), c.messages.back());
    EXPECT_EQ(o.char_name, "Mira");
    EXPECT_EQ(o.scenario, c.scenario);
  }
  EXPECT_TRUE(length_variants(c, {}, kRule, kWords, rng).empty());
  // A conversation ending with the user's turn has no opening at that last turn.
  ChatState open_end = c;
  open_end.messages.push_back({ChatRole::kUser, "Bye!", std::nullopt});
  EXPECT_EQ(length_variants(open_end, {.openings = true}, kRule, kWords, rng).size(), 2u);
}

TEST(LengthVariants, TruncatedCopiesCutRepliesToALowerLevelAtSentenceEnds) {
  const ChatState c = scene();
  std::set<LengthLevel> levels_seen;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    Rng rng(seed);
    const auto v = length_variants(c, {.openings = true, .truncated_copies = 2}, kRule, kWords, rng);
    ASSERT_EQ(v.size(), 2u + 2u * 3u) << "every base has a reply that can be cut";
    for (size_t k = 2; k < v.size(); ++k) {
      const ChatState& cut = v[k];
      const ChatState& base = (k - 2) % 3 == 0 ? c : v[(k - 2) % 3 - 1];
      ASSERT_EQ(cut.messages.size(), base.messages.size());
      for (size_t i = 0; i < cut.messages.size(); ++i) {
        const std::string& was = base.messages[i].text;
        const std::string& now = cut.messages[i].text;
        if (base.messages[i].role == ChatRole::kUser || kRule.level_for(count_words(was)) == LengthLevel::kTiny) {
          EXPECT_EQ(now, was);
          continue;
        }
        ASSERT_LT(now.size(), was.size());
        EXPECT_TRUE(was.starts_with(now)) << now;
        EXPECT_LT(kRule.level_for(count_words(now)), kRule.level_for(count_words(was))) << now;
        const std::vector<std::string> ends = heads(was);
        EXPECT_NE(std::find(ends.begin(), ends.end(), now), ends.end()) << now;
        if (&base == &c && i == 3) levels_seen.insert(kRule.level_for(count_words(now)));
      }
    }
    Rng again(seed);
    EXPECT_EQ(length_variants(c, {.openings = true, .truncated_copies = 2}, kRule, kWords, again), v)
        << "deterministic for a seed";
  }
  // The long reply reaches every lower level it has a sentence end in.
  EXPECT_EQ(levels_seen, (std::set<LengthLevel>{LengthLevel::kShort, LengthLevel::kMedium, LengthLevel::kLong,
                                                LengthLevel::kHumongous}));
}

TEST(LengthVariants, RenderedLabelsFollowTheCutReplies) {
  Rng rng(3);
  const auto v = length_variants(scene(), {.truncated_copies = 1}, kRule, kWords, rng);
  ASSERT_EQ(v.size(), 1u);
  const TrainingPrompt p = render_training_prompt(v[0], kRule, kWords);
  std::vector<LengthLevel> want;
  for (const auto& m : v[0].messages)
    if (m.role == ChatRole::kChar) want.push_back(kRule.level_for(count_words(m.text)));
  EXPECT_EQ(p.reply_levels, want);
  std::string text;
  for (const auto& s : p.segments) text += s.text;
  EXPECT_NE(text.find("(length = " + std::string(length_level_name(want[1])) + ")\nMira: " + v[0].messages[3].text),
            std::string::npos);
}

Sample sample(const std::string& group, bool derived) {
  Sample s;
  s.tokens = {1, 2, 3};
  s.trained = {0, 1, 1};
  s.origin = s.group = group;
  s.derived = derived;
  return s;
}

TEST(LengthVariants, ValidationNeverTrainsOnAHeldOutConversationsVariants) {
  std::vector<Sample> samples;
  for (int f = 0; f < 10; ++f) {
    samples.push_back(sample("f" + std::to_string(f), false));
    for (int k = 0; k < 3; ++k) samples.push_back(sample("f" + std::to_string(f), true));
  }
  auto [train, val] = split_validation(samples, 2, 7);
  ASSERT_EQ(val.size(), 2u);
  std::set<std::string> held;
  for (const auto& s : val) {
    EXPECT_FALSE(s.derived);
    held.insert(s.group);
  }
  EXPECT_EQ(train.size(), 8u * 4u);
  for (const auto& s : train) EXPECT_FALSE(held.count(s.group)) << s.group;
  // A fraction counts original samples only.
  auto [train2, val2] = split_validation(samples, 0.2, 7);
  EXPECT_EQ(val2.size(), 2u);
}

TEST(LengthVariants, DatasetKeysAreValidated) {
  const std::string base = "base_model: m\ndatasets: [{path: d, type: limarp";
  auto ok = parse_train_config(base + ", opening_crops: true, truncated_copies: 2, turn_end_weight: 2.5}]\n", "a.yml");
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_TRUE(ok->datasets[0].augment.openings);
  EXPECT_EQ(ok->datasets[0].augment.truncated_copies, 2);
  EXPECT_EQ(ok->datasets[0].turn_end_weight, 2.5);
  // A checkpoint made with other variants or weights is other data: resuming must refuse it.
  std::set<std::string> digests = {ok->data_digest()};
  for (const char* other : {"}]\n", ", opening_crops: true, truncated_copies: 3, turn_end_weight: 2.5}]\n",
                            ", opening_crops: true, truncated_copies: 2}]\n",
                            ", opening_crops: true, truncated_copies: 2, turn_end_weight: 2.5, "
                            "stop_choice_weight: 4}]\n"})
    digests.insert(parse_train_config(base + other, "a.yml")->data_digest());
  EXPECT_EQ(digests.size(), 5u);
  EXPECT_EQ(parse_train_config(base + ", stop_choice_weight: 4}]\n", "a.yml")->datasets[0].stop_choice_weight, 4.0);
  for (const auto& [extra, key] : {std::pair<std::string, std::string>{", truncated_copies: -1", "truncated_copies"},
                                   {", truncated_copies: many", "truncated_copies"},
                                   {", opening_crops: perhaps", "opening_crops"},
                                   {", turn_end_weight: 0", "turn_end_weight"},
                                   {", turn_end_weight: 1000", "turn_end_weight"},
                                   {", turn_end_weight: heavy", "turn_end_weight"},
                                   {", stop_choice_weight: -1", "stop_choice_weight"},
                                   {", stop_choice_weight: 101", "stop_choice_weight"}}) {
    auto bad = parse_train_config(base + extra + "}]\n", "b.yml");
    ASSERT_FALSE(bad.ok()) << extra;
    EXPECT_NE(bad.error().message().find(key), std::string::npos) << bad.error().message();
  }
  auto completion = parse_train_config("base_model: m\ndatasets: [{path: d, type: completion, opening_crops: true}]\n",
                                       "c.yml");
  ASSERT_FALSE(completion.ok());
  EXPECT_NE(completion.error().message().find("limarp"), std::string::npos) << completion.error().message();
  auto weighted = parse_train_config("base_model: m\ndatasets: [{path: d, type: alpaca, turn_end_weight: 3}]\n", "w.yml");
  ASSERT_FALSE(weighted.ok());
  EXPECT_NE(weighted.error().message().find("turn_end_weight"), std::string::npos) << weighted.error().message();
}

}  // namespace
}  // namespace limarp::train
