// Sentences of prose: quotations stay whole and keep their attribution, abbreviations and
// initials do not end a sentence, lines are paragraphs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "train/sentence_split.h"

namespace limarp::train {
namespace {

std::vector<std::string> texts_of(const std::vector<Sentence>& sentences) {
  std::vector<std::string> out;
  for (const Sentence& s : sentences) out.emplace_back(s.text);
  return out;
}

TEST(SentenceSplit, QuotesAbbreviationsAndAttributions) {
  using V = std::vector<std::string>;
  EXPECT_EQ(texts_of(split_sentences("Tom said, \"I think my ball fell into the pit.\" Sam nodded.")),
            (V{"Tom said, \"I think my ball fell into the pit.\"", "Sam nodded."}));
  // A quotation's attribution stays with it, in upper or lower case.
  EXPECT_EQ(texts_of(split_sentences("\"Can I have some blocks too?\" Lily asked. She wanted a bridge.")),
            (V{"\"Can I have some blocks too?\" Lily asked.", "She wanted a bridge."}));
  EXPECT_EQ(texts_of(split_sentences("\"Help!\" she cried. Mr. Brown came. He met Dr. J. Smith 3.5 miles away.")),
            (V{"\"Help!\" she cried.", "Mr. Brown came.", "He met Dr. J. Smith 3.5 miles away."}));
  // Never inside an open quotation or *action*.
  EXPECT_EQ(texts_of(split_sentences("Mom said, \"Be careful. The pit is deep.\" Tom listened.")),
            (V{"Mom said, \"Be careful. The pit is deep.\"", "Tom listened."}));
  EXPECT_EQ(texts_of(split_sentences("Wait... What was that?! *She looks around. Slowly.* Nothing.")),
            (V{"Wait...", "What was that?!", "*She looks around. Slowly.*", "Nothing."}));
  EXPECT_EQ(texts_of(split_sentences("\xE2\x80\x9CHi.\xE2\x80\x9D Tom smiled. Bye.")),
            (V{"\xE2\x80\x9CHi.\xE2\x80\x9D", "Tom smiled.", "Bye."}));
  EXPECT_EQ(texts_of(split_sentences("We saw it, e.g. The cat. No. It was the dog.")),
            (V{"We saw it, e.g. The cat.", "No.", "It was the dog."}));
  // Lines are paragraphs; a line without a mark still ends its sentence, unclosed.
  const std::vector<Sentence> lines = split_sentences("A title\n\nOne. Two!\nThree?\"\n");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(texts_of(lines), (V{"A title", "One.", "Two!", "Three?\""}));
  EXPECT_TRUE(lines[0].opens_paragraph && !lines[0].closed);
  EXPECT_TRUE(lines[1].opens_paragraph && lines[1].closed);
  EXPECT_TRUE(!lines[2].opens_paragraph && lines[2].closed);
  EXPECT_TRUE(lines[3].opens_paragraph && lines[3].closed);
  EXPECT_TRUE(split_sentences(" \n\n ").empty());
}

}  // namespace
}  // namespace limarp::train
