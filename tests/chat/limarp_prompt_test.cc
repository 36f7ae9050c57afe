// Golden strings: the exact bytes of the LimaRP prompt (model card format) for several
// conversations, every length level and every option. The expected strings are written out
// from the card's spec (../shared/reference/limarp-format.md), one line per literal.
#include <gtest/gtest.h>

#include "chat/limarp_prompt.h"
#include "chat_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

TEST(LimarpPrompt, FullConversationUserFirst) {
  const std::string expected =
      "### Instruction:\n"
      "Aqua's Persona: A goddess of water. Cheerful, vain and often useless.\n"
      "\n"
      "Kazuma's Persona: A NEET who was sent to another world.\n"
      "\n"
      "Scenario: Aqua and Kazuma sit in the guild hall, out of money again.\n"
      "\n"
      "Play the role of Aqua. You must engage in a roleplaying chat with Kazuma below this line. Do not write "
      "dialogues and narration for Kazuma.\n"
      "\n"
      "### Input:\n"
      "Kazuma: We need a quest. Any quest.\n"
      "\n"
      "### Response:\n"
      "Aqua: *slams the table* Then pick one that pays well, Kazuma!\n"
      "\n"
      "### Input:\n"
      "Kazuma: Fine. Frogs it is.\n"
      "\n"
      "### Response: (length = medium)\n"
      "Aqua:";
  EXPECT_EQ(render_limarp_prompt(aqua_chat()).text(), expected);
}

TEST(LimarpPrompt, GreetingFirstWithoutUserPersona) {
  const std::string expected =
      "### Instruction:\n"
      "Mira's Persona: A shy librarian.\n"
      "\n"
      "Scenario: A quiet evening at the library.\n"
      "\n"
      "Play the role of Mira. You must engage in a roleplaying chat with Tom below this line. Do not write "
      "dialogues and narration for Tom.\n"
      "\n"
      "### Response:\n"
      "Mira: Oh! We're about to close...\n"
      "\n"
      "### Input:\n"
      "Tom: Just returning a book.\n"
      "\n"
      "### Response: (length = short)\n"
      "Mira:";
  EXPECT_EQ(render_limarp_prompt(greeting_chat()).text(), expected);
}

TEST(LimarpPrompt, NoMessagesYet) {
  ChatState c = greeting_chat();
  c.messages.clear();
  const std::string expected =
      "### Instruction:\n"
      "Mira's Persona: A shy librarian.\n"
      "\n"
      "Scenario: A quiet evening at the library.\n"
      "\n"
      "Play the role of Mira. You must engage in a roleplaying chat with Tom below this line. Do not write "
      "dialogues and narration for Tom.\n"
      "\n"
      "### Response: (length = short)\n"
      "Mira:";
  EXPECT_EQ(render_limarp_prompt(c).text(), expected);
}

TEST(LimarpPrompt, EmptyFieldsAreLeftOutCleanly) {
  ChatState c;
  c.char_name = "Rin";
  c.user_name = "Sam";
  c.char_persona = "  \n ";  // whitespace only counts as empty
  c.messages = {{ChatRole::kUser, "Hello?", std::nullopt}};
  const std::string expected =
      "### Instruction:\n"
      "Play the role of Rin. You must engage in a roleplaying chat with Sam below this line. Do not write "
      "dialogues and narration for Sam.\n"
      "\n"
      "### Input:\n"
      "Sam: Hello?\n"
      "\n"
      "### Response: (length = medium)\n"
      "Rin:";
  EXPECT_EQ(render_limarp_prompt(c).text(), expected);

  c.user_persona = "A traveller.";
  const std::string with_user =
      "### Instruction:\n"
      "Sam's Persona: A traveller.\n"
      "\n"
      "Play the role of Rin. You must engage in a roleplaying chat with Sam below this line. Do not write "
      "dialogues and narration for Sam.\n"
      "\n"
      "### Input:\n"
      "Sam: Hello?\n"
      "\n"
      "### Response: (length = medium)\n"
      "Rin:";
  EXPECT_EQ(render_limarp_prompt(c).text(), with_user);
}

TEST(LimarpPrompt, EmptyNamesUseTheCardPlaceholders) {
  ChatState c;
  c.char_persona = "Mysterious.";
  c.messages = {{ChatRole::kUser, "Who are you?", std::nullopt}};
  const std::string expected =
      "### Instruction:\n"
      "Character's Persona: Mysterious.\n"
      "\n"
      "Play the role of Character. You must engage in a roleplaying chat with User below this line. Do not write "
      "dialogues and narration for User.\n"
      "\n"
      "### Input:\n"
      "User: Who are you?\n"
      "\n"
      "### Response: (length = medium)\n"
      "Character:";
  EXPECT_EQ(render_limarp_prompt(c).text(), expected);
}

TEST(LimarpPrompt, AllEightLengthLevels) {
  ChatState c;
  c.char_name = "A";
  c.user_name = "B";
  c.messages = {{ChatRole::kUser, "Hi.", std::nullopt}};
  const std::string head =
      "### Instruction:\n"
      "Play the role of A. You must engage in a roleplaying chat with B below this line. Do not write dialogues "
      "and narration for B.\n"
      "\n"
      "### Input:\n"
      "B: Hi.\n"
      "\n";
  const std::pair<LengthLevel, std::string> cases[] = {
      {LengthLevel::kTiny, "### Response: (length = tiny)\nA:"},
      {LengthLevel::kShort, "### Response: (length = short)\nA:"},
      {LengthLevel::kMedium, "### Response: (length = medium)\nA:"},
      {LengthLevel::kLong, "### Response: (length = long)\nA:"},
      {LengthLevel::kHuge, "### Response: (length = huge)\nA:"},
      {LengthLevel::kHumongous, "### Response: (length = humongous)\nA:"},
      {LengthLevel::kExtreme, "### Response: (length = extreme)\nA:"},
      {LengthLevel::kUnlimited, "### Response: (length = unlimited)\nA:"},
  };
  for (const auto& [level, tail] : cases) {
    c.length = level;
    EXPECT_EQ(render_limarp_prompt(c).text(), head + tail) << length_level_name(level);
  }
}

TEST(LimarpPrompt, ModifierOnEveryHeaderUsesEachMessagesLevel) {
  ChatState c = greeting_chat();
  c.messages.push_back({ChatRole::kChar, "Of course.", LengthLevel::kTiny});
  c.messages.push_back({ChatRole::kUser, "Thanks.", std::nullopt});
  const std::string expected =
      "### Instruction:\n"
      "Mira's Persona: A shy librarian.\n"
      "\n"
      "Scenario: A quiet evening at the library.\n"
      "\n"
      "Play the role of Mira. You must engage in a roleplaying chat with Tom below this line. Do not write "
      "dialogues and narration for Tom.\n"
      "\n"
      "### Response: (length = short)\n"
      "Mira: Oh! We're about to close...\n"
      "\n"
      "### Input:\n"
      "Tom: Just returning a book.\n"
      "\n"
      "### Response: (length = tiny)\n"
      "Mira: Of course.\n"
      "\n"
      "### Input:\n"
      "Tom: Thanks.\n"
      "\n"
      "### Response: (length = short)\n"
      "Mira:";
  EXPECT_EQ(render_limarp_prompt(c, {.modifier = ModifierPlacement::kEvery}).text(), expected);
}

TEST(LimarpPrompt, NoModifier) {
  ChatState c = greeting_chat();
  const std::string tail =
      "### Response:\n"
      "Mira: Oh! We're about to close...\n"
      "\n"
      "### Input:\n"
      "Tom: Just returning a book.\n"
      "\n"
      "### Response:\n"
      "Mira:";
  const std::string text = render_limarp_prompt(c, {.modifier = ModifierPlacement::kNone}).text();
  ASSERT_GE(text.size(), tail.size());
  EXPECT_EQ(text.substr(text.size() - tail.size()), tail);
  EXPECT_EQ(text.find("(length"), std::string::npos);
}

TEST(LimarpPrompt, ContinueLeavesTheLastReplyOpen) {
  ChatState c = greeting_chat();
  c.messages.push_back({ChatRole::kChar, "Sure, put it", std::nullopt});
  const std::string tail =
      "### Input:\n"
      "Tom: Just returning a book.\n"
      "\n"
      "### Response: (length = short)\n"
      "Mira: Sure, put it";
  const std::string text = render_limarp_prompt(c, {.tail = PromptTail::kContinueLast}).text();
  EXPECT_EQ(text.substr(text.size() - tail.size()), tail);
  // Continuing a user message makes no sense: a new reply is opened instead.
  EXPECT_EQ(render_limarp_prompt(greeting_chat(), {.tail = PromptTail::kContinueLast}).text(),
            render_limarp_prompt(greeting_chat()).text());
}

TEST(LimarpPrompt, ClosedTrainingText) {
  ChatState c = greeting_chat();
  c.messages.push_back({ChatRole::kChar, "Thank you!", LengthLevel::kTiny});
  const std::string tail =
      "### Response: (length = short)\n"
      "Mira: Oh! We're about to close...\n"
      "\n"
      "### Input:\n"
      "Tom: Just returning a book.\n"
      "\n"
      "### Response: (length = tiny)\n"
      "Mira: Thank you!";
  const std::string text =
      render_limarp_prompt(c, {.modifier = ModifierPlacement::kEvery, .tail = PromptTail::kClosed}).text();
  EXPECT_EQ(text.substr(text.size() - tail.size()), tail);
  ChatState empty;
  empty.char_name = "A";
  empty.user_name = "B";
  EXPECT_EQ(render_limarp_prompt(empty, {.tail = PromptTail::kClosed}).text(),
            "### Instruction:\nPlay the role of A. You must engage in a roleplaying chat with B below this line. "
            "Do not write dialogues and narration for B.");
}

TEST(LimarpPrompt, MacrosTrimmingAndCarriageReturns) {
  ChatState c;
  c.char_name = " Aqua ";
  c.user_name = "Kazuma";
  c.char_persona = "  Loves <USER>'s money.\r\nHates undead.  ";
  c.messages = {{ChatRole::kUser, "\n  Hey {{Char}}, <bot>!  \n", std::nullopt}, {ChatRole::kChar, "", std::nullopt}};
  const std::string expected =
      "### Instruction:\n"
      "Aqua's Persona: Loves Kazuma's money.\n"
      "Hates undead.\n"
      "\n"
      "Play the role of Aqua. You must engage in a roleplaying chat with Kazuma below this line. Do not write "
      "dialogues and narration for Kazuma.\n"
      "\n"
      "### Input:\n"
      "Kazuma: Hey Aqua, Aqua!\n"
      "\n"
      "### Response:\n"
      "Aqua:\n"
      "\n"
      "### Response: (length = medium)\n"
      "Aqua:";
  EXPECT_EQ(render_limarp_prompt(c).text(), expected);
}

TEST(LimarpPrompt, ExampleDialogueAsTurns) {
  ChatState c;
  c.char_name = "Aqua";
  c.user_name = "Kazuma";
  c.examples = "<START>\n{{user}}: Can you heal?\n{{char}}: Of course!\nI'm a goddess.\n<START>\n{{char}}: Hmph.";
  c.messages = {{ChatRole::kUser, "Hi.", std::nullopt}};
  const std::string expected =
      "### Instruction:\n"
      "Play the role of Aqua. You must engage in a roleplaying chat with Kazuma below this line. Do not write "
      "dialogues and narration for Kazuma.\n"
      "\n"
      "### Input:\n"
      "Kazuma: Can you heal?\n"
      "\n"
      "### Response:\n"
      "Aqua: Of course!\n"
      "I'm a goddess.\n"
      "\n"
      "### Response:\n"
      "Aqua: Hmph.\n"
      "\n"
      "### Input:\n"
      "Kazuma: Hi.\n"
      "\n"
      "### Response: (length = medium)\n"
      "Aqua:";
  RenderedPrompt p = render_limarp_prompt(c);
  EXPECT_EQ(p.text(), expected);
  ASSERT_EQ(p.segments.size(), 6u);
  EXPECT_EQ(p.segments[1].kind, SegmentKind::kExample);
  EXPECT_EQ(p.segments[3].kind, SegmentKind::kExample);
  EXPECT_EQ(p.segments[4].kind, SegmentKind::kMessage);
  c.messages.clear();
  c.examples.clear();
  ChatState omitted = c;
  omitted.examples = "<START>\n{{user}}: x";
  EXPECT_EQ(render_limarp_prompt(omitted, {.examples = ExampleMode::kOmit}).text(), render_limarp_prompt(c).text());
}

TEST(LimarpPrompt, SegmentsConcatenateAndDropWholeOldestTurns) {
  const ChatState c = aqua_chat();
  const RenderedPrompt p = render_limarp_prompt(c);
  ASSERT_EQ(p.segments.size(), 5u);
  EXPECT_EQ(p.segments[0].kind, SegmentKind::kInstruction);
  EXPECT_EQ(p.segments[1].text, "\n### Input:\nKazuma: We need a quest. Any quest.\n");
  EXPECT_EQ(p.segments[1].message_index, 0);
  EXPECT_EQ(p.segments[2].text, "\n### Response:\nAqua: *slams the table* Then pick one that pays well, Kazuma!\n");
  EXPECT_EQ(p.segments[4].kind, SegmentKind::kOpenHeader);
  EXPECT_EQ(p.segments[4].text, "\n### Response: (length = medium)\nAqua:");
  std::string joined;
  for (const auto& s : p.segments) joined += s.text;
  EXPECT_EQ(joined, p.text());
  // Dropping the oldest turns gives exactly the prompt of the shorter chat.
  for (int k = 0; k <= 3; ++k) {
    ChatState shorter = c;
    shorter.messages.erase(shorter.messages.begin(), shorter.messages.begin() + k);
    EXPECT_EQ(p.text_from_message(k), render_limarp_prompt(shorter).text()) << k;
  }
}

TEST(LimarpPrompt, StoryIsTheInstructionBody) {
  EXPECT_EQ(render_limarp_story(greeting_chat()),
            "Mira's Persona: A shy librarian.\n"
            "\n"
            "Scenario: A quiet evening at the library.\n"
            "\n"
            "Play the role of Mira. You must engage in a roleplaying chat with Tom below this line. Do not write "
            "dialogues and narration for Tom.");
}

}  // namespace
}  // namespace limarp
