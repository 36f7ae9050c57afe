// Stop strings across token boundaries: nothing of a stop string is ever shown, the reply is
// trimmed, and every way of splitting the text into pieces gives the same result.
#include <gtest/gtest.h>

#include "chat/limarp_stop_strings.h"
#include "chat_test_util.h"
#include "infer/stop_strings.h"

namespace limarp {
namespace {

const std::vector<std::string> kStops = {"### Input", "### Response", "### Instruction", "\nKazuma:", "\nKazuma :"};

struct Streamed {
  std::string shown;
  std::vector<std::string> pieces_shown;
  bool stopped;
  std::string matched;
  std::string reply;
};

Streamed stream(const std::vector<std::string>& pieces, const std::vector<std::string>& stops = kStops) {
  StopStringMatcher m(stops);
  Streamed s;
  for (const auto& p : pieces) {
    std::string out = m.push(p);
    s.shown += out;
    s.pieces_shown.push_back(out);
    if (m.stopped()) break;
  }
  s.shown += m.finish();
  s.stopped = m.stopped();
  s.matched = m.matched();
  s.reply = m.reply();
  return s;
}

TEST(StopStrings, StopAcrossTokensIsNeverShown) {
  const Streamed s = stream({" Hello", " there", ".", "\n", "\n##", "#", " In", "put", ":\nKazuma: hi"});
  EXPECT_TRUE(s.stopped);
  EXPECT_EQ(s.matched, "### Input");
  EXPECT_EQ(s.shown, "Hello there.");
  EXPECT_EQ(s.reply, "Hello there.");
  for (const auto& p : s.pieces_shown) EXPECT_EQ(p.find('#'), std::string::npos) << p;
}

TEST(StopStrings, ImpersonationGuard) {
  const Streamed s = stream({" *nods*", "\nKaz", "uma", ":", " I take the quest."});
  EXPECT_TRUE(s.stopped);
  EXPECT_EQ(s.matched, "\nKazuma:");
  EXPECT_EQ(s.reply, "*nods*");
  const Streamed spaced = stream({" Sure.", "\nKazuma", " :", " no"});
  EXPECT_EQ(spaced.matched, "\nKazuma :");
  EXPECT_EQ(spaced.reply, "Sure.");
}

TEST(StopStrings, NarrationStartingWithTheNameDoesNotStop) {
  const Streamed s = stream({" She waits.", "\nKaz", "uma", " walks in."});
  EXPECT_FALSE(s.stopped);
  EXPECT_EQ(s.reply, "She waits.\nKazuma walks in.");
  // The held "\nKaz" is released as soon as it cannot be a stop any more.
  EXPECT_EQ(s.pieces_shown[1], "");
  EXPECT_EQ(s.pieces_shown[2], "");
  EXPECT_EQ(s.pieces_shown[3], "\nKazuma walks in.");
}

TEST(StopStrings, BlockHeaderMidLineAndTheCardsTypo) {
  EXPECT_EQ(stream({" Done. ### Response: more"}).reply, "Done.");
  EXPECT_EQ(stream({" Done.\n\n### Input\nKazuma: x"}).reply, "Done.");
}

TEST(StopStrings, LeadingAndTrailingWhitespace) {
  const Streamed s = stream({" ", " Hi", " ", "\n", "\n"});
  EXPECT_FALSE(s.stopped);
  EXPECT_EQ(s.reply, "Hi");
  EXPECT_EQ(s.shown, "Hi");
  // Inner whitespace is shown once text follows it.
  const Streamed inner = stream({" A", " ", "\n", "B"});
  EXPECT_EQ(inner.reply, "A \nB");
  EXPECT_EQ(inner.pieces_shown[1], "");
  EXPECT_EQ(inner.pieces_shown[3], " \nB");
}

TEST(StopStrings, HeldPartialIsShownAtTheEnd) {
  const Streamed s = stream({" Look: ##", "#"});
  EXPECT_FALSE(s.stopped);
  EXPECT_EQ(s.reply, "Look: ###");
  EXPECT_EQ(s.pieces_shown[0], "Look:");
}

TEST(StopStrings, EverySplitGivesTheSameResult) {
  const std::string text = " *smiles* Fine.\nKazuma walks over.\n\nKazuma: Let's go.";
  for (size_t a = 0; a <= text.size(); ++a) {
    for (size_t b = a; b <= text.size(); b += 3) {
      const Streamed s = stream({text.substr(0, a), text.substr(a, b - a), text.substr(b)});
      ASSERT_TRUE(s.stopped) << a << "," << b;
      ASSERT_EQ(s.reply, "*smiles* Fine.\nKazuma walks over.") << a << "," << b;
      ASSERT_EQ(s.shown, s.reply);
    }
  }
}

TEST(StopStrings, CustomStopsAndReset) {
  StopStringMatcher m({"</s>", "END"});
  EXPECT_EQ(m.push("abc</"), "abc");
  EXPECT_EQ(m.push("s>def"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.reply(), "abc");
  EXPECT_EQ(m.push("more"), "");
  m.reset();
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.push("xEN"), "x");
  EXPECT_EQ(m.finish(), "EN");
  EXPECT_EQ(m.reply(), "xEN");
}

TEST(StopStrings, DefaultsForAChat) {
  EXPECT_EQ(default_stop_strings(testing::aqua_chat()), kStops);
  ChatState unnamed;
  EXPECT_EQ(default_stop_strings(unnamed).back(), "\nUser :");
}

TEST(TrimUnfinishedSentence, CutsAfterTheLastCompleteSentence) {
  EXPECT_EQ(trim_unfinished_sentence("She smiled. Then she"), "She smiled.");
  EXPECT_EQ(trim_unfinished_sentence("\"Really?!\" he asked, and"), "\"Really?!\"");
  EXPECT_EQ(trim_unfinished_sentence("*She waves.* Then"), "*She waves.*");
  EXPECT_EQ(trim_unfinished_sentence("It costs 3.5 gold and"), "It costs 3.5 gold and");  // no boundary: kept
  EXPECT_EQ(trim_unfinished_sentence("Wait... what do"), "Wait...");
  EXPECT_EQ(trim_unfinished_sentence("First line\nSecond li"), "First line");
  EXPECT_EQ(trim_unfinished_sentence("Done. "), "Done.");
  EXPECT_EQ(trim_unfinished_sentence("Done."), "Done.");
  EXPECT_EQ(trim_unfinished_sentence("no punctuation at all"), "no punctuation at all");
  EXPECT_EQ(trim_unfinished_sentence("\xE3\x81\x82\xE3\x80\x82\xE3\x81\x84"), "\xE3\x81\x82\xE3\x80\x82");  // あ。い
}

}  // namespace
}  // namespace limarp
