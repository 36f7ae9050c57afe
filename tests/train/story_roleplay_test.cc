// The story_roleplay dataset type: stories told as narrated conversations whose every reply is
// labelled with the level of its own word count; every requested level appears in the
// requested shares on a real TinyStories file; the same seed gives the same conversations; bad
// files are errors naming the problem; samples use the standard LimaRP prompt and mix with
// limarp datasets in one config.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "base/text_util.h"
#include "support/test_support.h"
#include "train/dataset.h"
#include "train/sentence_split.h"
#include "train/story_roleplay.h"
#include "train/text_documents.h"

namespace limarp::train {
namespace {

const LengthMeasure kStoryWords = [](std::string_view s) { return count_words(s); };

// `count` stories of `sentences` sentences of 3..14 words each, the words numbered so every
// reply is unique (capitalised: a lower-case word after a period continues the sentence).
std::vector<std::string> synthetic_stories(int count, int sentences) {
  std::vector<std::string> out;
  int word = 0;
  for (int s = 0; s < count; ++s) {
    std::string story;
    for (int k = 0; k < sentences; ++k) {
      const int n = 3 + (s * 7 + k * 5) % 12;
      for (int w = 0; w < n; ++w) story += fmt::format("{}W{}", w == 0 ? "" : " ", word++);
      story += k % 4 == 3 ? ".\n" : ". ";
    }
    out.push_back(story);
  }
  return out;
}

std::vector<Story> split_all(const std::vector<std::string>& texts) {
  std::vector<Story> stories;
  for (const std::string& t : texts) stories.push_back(split_sentences(t));
  return stories;
}

TEST(StoryRoleplay, EveryReplyIsLabelledWithTheLevelOfItsWordCount) {
  const std::vector<std::string> texts = synthetic_stories(400, 16);
  const LengthLabelRule rule;
  Rng rng(7);
  const StoryConversations out = stories_to_conversations(split_all(texts), {}, rule, kStoryWords, rng);
  ASSERT_GT(out.conversations.size(), 50u);
  std::array<int64_t, kLengthLevelCount> seen{};
  for (const ChatState& c : out.conversations) {
    ASSERT_EQ(c.messages.size() % 2, 0u);
    for (size_t i = 0; i < c.messages.size(); ++i) {
      const ChatMessage& m = c.messages[i];
      ASSERT_EQ(m.role, i % 2 == 0 ? ChatRole::kUser : ChatRole::kChar);
      if (m.role == ChatRole::kUser) continue;
      ASSERT_TRUE(m.length.has_value());
      EXPECT_EQ(*m.length, rule.level_for(count_words(m.text))) << m.text;
      ++seen[length_level_index(*m.length)];
    }
    // The rendered training prompt labels each reply the same way.
    const TrainingPrompt p = render_training_prompt(c, rule, kStoryWords);
    std::vector<LengthLevel> want;
    for (const ChatMessage& m : c.messages)
      if (m.role == ChatRole::kChar) want.push_back(*m.length);
    EXPECT_EQ(p.reply_levels, want);
    std::string text;
    for (const TrainingSegment& s : p.segments) text += s.text;
    for (const ChatMessage& m : c.messages) {
      if (m.role != ChatRole::kChar) continue;
      EXPECT_NE(text.find(fmt::format("### Response: (length = {})\n{}: {}", length_level_name(*m.length),
                                      c.char_name, m.text)),
                std::string::npos);
    }
  }
  EXPECT_EQ(seen, out.replies_per_level);
  for (LengthLevel l : kAllLengthLevels) EXPECT_GT(seen[length_level_index(l)], 20) << length_level_name(l);
  // Unlimited replies stay under 1.5 times the last threshold; the text is told in order, once.
  std::string told;
  for (const ChatState& c : out.conversations)
    for (const ChatMessage& m : c.messages)
      if (m.role == ChatRole::kChar) {
        EXPECT_LE(count_words(m.text), 450 + 14);
        told += m.text + " ";
      }
  std::string all;
  for (const std::string& t : texts) all += t + " ";
  EXPECT_EQ(count_words(told), count_words(all));
}

TEST(StoryRoleplay, SameSeedSameConversations) {
  const std::vector<std::string> texts = synthetic_stories(200, 12);  // the sentences' storage
  const std::vector<Story> stories = split_all(texts);
  StoryRoleplayOptions o;
  o.replies_per_conversation = 3;
  o.max_conversations = 25;
  Rng a(11), b(11), c(12);
  const StoryConversations x = stories_to_conversations(stories, o, {}, kStoryWords, a);
  const StoryConversations y = stories_to_conversations(stories, o, {}, kStoryWords, b);
  const StoryConversations z = stories_to_conversations(stories, o, {}, kStoryWords, c);
  EXPECT_EQ(x.conversations.size(), 25u);
  EXPECT_TRUE(x.conversations == y.conversations);
  EXPECT_FALSE(x.conversations == z.conversations);
  for (const ChatState& chat : x.conversations) EXPECT_LE(chat.messages.size(), 6u);
}

// The asset's stories, as the dataset reads them.
struct AssetStories {
  std::vector<std::string> texts;
  std::vector<Story> stories;
};
AssetStories read_asset(const std::string& path) {
  AssetStories a;
  auto docs = read_documents(path, "text");
  EXPECT_TRUE(docs.ok()) << docs.error().message();
  a.texts = std::move(*docs);
  for (const std::string& t : a.texts) a.stories.push_back(split_sentences(t));
  return a;
}

TEST(StoryRoleplay, EveryLevelGetsThousandsOfRepliesFromFifteenMegabytes) {
  LIMARP_ASSET(path, "text/tinystories_more_15MiB.txt");
  const auto start = std::chrono::steady_clock::now();
  const AssetStories a = read_asset(path);
  Rng rng(42);
  const StoryConversations out = stories_to_conversations(a.stories, {}, {}, kStoryWords, rng);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int64_t total = 0;
  for (int64_t n : out.replies_per_level) total += n;
  std::string line;
  for (LengthLevel l : kAllLengthLevels)
    line += fmt::format(" {} {}", length_level_name(l), out.replies_per_level[length_level_index(l)]);
  std::fprintf(stderr, "15 MiB: %zu stories -> %zu conversations, %lld replies (%lld missed their aim):%s (%.2f s)\n",
               a.stories.size(), out.conversations.size(), static_cast<long long>(total),
               static_cast<long long>(out.missed), line.c_str(), seconds);
  EXPECT_LT(out.missed, total / 20);
  for (LengthLevel l : kAllLengthLevels) {
    const int64_t n = out.replies_per_level[length_level_index(l)];
    EXPECT_GE(n, 2000) << length_level_name(l);
    // Equal shares, within 5% of one share.
    EXPECT_NEAR(static_cast<double>(n), static_cast<double>(total) / 8, static_cast<double>(total) / 8 * 0.05)
        << length_level_name(l);
  }
  EXPECT_GE(out.stories_used, static_cast<int64_t>(a.stories.size()) - 1);
}

TEST(StoryRoleplay, RequestedLevelsGetTheirRequestedShares) {
  LIMARP_ASSET(path, "text/tinystories_sample_2MiB.txt");
  const AssetStories a = read_asset(path);
  StoryRoleplayOptions o;
  o.levels = {LengthLevel::kTiny, LengthLevel::kLong, LengthLevel::kExtreme};
  o.weights = {1, 2, 1};
  o.replies_per_conversation = 6;
  Rng rng(3);
  const StoryConversations out = stories_to_conversations(a.stories, o, {}, kStoryWords, rng);
  const auto count = [&](LengthLevel l) { return static_cast<double>(out.replies_per_level[length_level_index(l)]); };
  const double total = count(LengthLevel::kTiny) + count(LengthLevel::kLong) + count(LengthLevel::kExtreme);
  EXPECT_GT(total, 1000);
  EXPECT_NEAR(count(LengthLevel::kTiny) / total, 0.25, 0.02);
  EXPECT_NEAR(count(LengthLevel::kLong) / total, 0.50, 0.02);
  EXPECT_NEAR(count(LengthLevel::kExtreme) / total, 0.25, 0.02);
  // Replies that miss their aim (a story ending early) are few and keep their true label.
  double others = 0;
  for (LengthLevel l : kAllLengthLevels) others += count(l);
  EXPECT_LT(others - total, 0.03 * others);
  for (const ChatState& c : out.conversations) EXPECT_LE(c.messages.size(), 12u);
}

class StoryDatasetFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model_opt = testing::asset_path("llama2-tokenizer/tokenizer.model");
    if (!model_opt) GTEST_SKIP() << "test assets not found";
    auto t = Tokenizer::load(*model_opt);
    ASSERT_TRUE(t.ok()) << t.error().message();
    tok_ = std::make_unique<Tokenizer>(std::move(*t));
    dir_ = testing::scratch_dir("story_dataset");
    config_.sequence_len = 4096;
    spec_.type = DatasetType::kStoryRoleplay;
  }
  Result<std::vector<Sample>> load(const std::string& path) {
    spec_.path = path;
    report_ = {};
    return load_story_roleplay(spec_, config_, *tok_, report_);
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    testing::write_file(path, text);
    return path;
  }

  std::unique_ptr<Tokenizer> tok_;
  std::string dir_;
  TrainConfig config_;
  DatasetSpec spec_;
  DatasetReport report_;
};

TEST_F(StoryDatasetFiles, BadFilesAreErrorsNamingTheProblem) {
  const std::pair<std::string, std::string> cases[] = {
      {write("empty.txt", ""), "no text to tell"},
      {write("blank.txt", "\n  \n<|endoftext|>\n\n"), "no text to tell"},
      {write("list.txt", "apples\npears\nplums\n<|endoftext|>\nbread\n"), "no sentence ends"},
      {dir_ + "/missing.txt", "missing.txt"},
  };
  for (const auto& [path, problem] : cases) {
    auto s = load(path);
    ASSERT_FALSE(s.ok()) << path;
    EXPECT_NE(s.error().message().find(problem), std::string::npos) << s.error().message();
    EXPECT_NE(s.error().message().find(path), std::string::npos) << s.error().message();
  }
}

TEST_F(StoryDatasetFiles, SamplesUseTheLimarpPromptAndMixWithLimarpData) {
  LIMARP_ASSET(stories, "text/tinystories_first300.txt");
  spec_.stories.max_conversations = 20;
  spec_.story_seed = 5;
  auto samples = load(stories);
  ASSERT_TRUE(samples.ok()) << samples.error().message();
  ASSERT_EQ(samples->size(), 20u);
  EXPECT_EQ(report_.records, 20);
  int64_t labelled = 0;
  for (int64_t n : report_.length_histogram) labelled += n;
  EXPECT_GE(labelled, 20 * 3);
  for (const Sample& s : *samples) {
    const std::string text = tok_->decode(s.tokens);
    ASSERT_TRUE(text.starts_with("### Instruction:\n")) << text;
    const size_t persona = text.find("'s Persona: ");
    ASSERT_NE(persona, std::string::npos);
    const std::string narrator = text.substr(17, persona - 17);
    EXPECT_NE(text.find("\n\nScenario: It is "), std::string::npos);
    EXPECT_NE(text.find("\n\nPlay the role of " + narrator + ". You must engage in a roleplaying chat with "),
              std::string::npos);
    EXPECT_NE(text.find("\n\n### Input:\n"), std::string::npos);
    EXPECT_NE(text.find("\n\n### Response: (length = "), std::string::npos);
    EXPECT_NE(text.find(")\n" + narrator + ": "), std::string::npos);
    EXPECT_GT(s.trained_count(), 0);
    EXPECT_TRUE(s.origin.find("(story conversation ") != std::string::npos) << s.origin;
  }
  // The same seed gives the same samples; mixed with hand-written conversations in one config.
  auto again = load(stories);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[7].tokens, (*samples)[7].tokens);
  DatasetSpec limarp;
  limarp.path = testing::source_dir() + "/tests/fixtures/limarp";
  limarp.type = DatasetType::kLimarp;
  config_.datasets = {spec_, limarp};
  std::vector<DatasetReport> reports;
  auto mixed = load_datasets(config_, *tok_, reports);
  ASSERT_TRUE(mixed.ok()) << mixed.error().message();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(mixed->size(), 20u + static_cast<size_t>(reports[1].samples));
  EXPECT_GT(reports[1].samples, 0);
}

}  // namespace
}  // namespace limarp::train
